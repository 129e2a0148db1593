"""Registration questions in forms: how each is shown, and the answers a form or a JSON body
brings (form fields ``answer.<id>``, or a JSON object ``answers`` keyed by question id)."""

from __future__ import annotations

from typing import Any

from pss_core.errors import InvalidInput
from pss_core.models import RegistrationQuestion
from pss_web.forms import Field

#: How the answers are declared for the OpenAPI document.
ANSWERS_FIELD = Field(
    "answers",
    "object",
    label="Answers",
    help="The answers to the event's registration questions, by question id "
    "(forms send them as answer.<id>). yes_no questions take yes or no.",
)
CONFIRM_NEW_FIELD = Field(
    "confirm_new",
    "bool",
    label="This is somebody else",
    help="Register even though somebody with the same name, IFPA number or e-mail is "
    "registered already (otherwise the answer is 409 possible_duplicate with the "
    "candidates).",
)


def question_json(q: RegistrationQuestion) -> dict[str, Any]:
    return {
        "id": q.id,
        "label": q.label,
        "kind": q.kind.value,
        "choices": list(q.choices or ()),
        "required": q.required,
        "help": q.help,
        "active": q.active,
        "position": q.position,
        "input": f"answer.{q.id}",
    }


def submitted_answers(request: Any, questions: list[RegistrationQuestion]) -> dict[str, Any]:
    """The answers in the request, by question id (only the questions it answers)."""
    data = request.submitted
    if data.is_json:
        raw = data.get("answers")
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise InvalidInput(
                "answers must be an object of question id to answer.",
                code="invalid_field",
                field="answers",
            )
        return {str(k): v for k, v in raw.items()}
    out: dict[str, Any] = {}
    for q in questions:
        name = f"answer.{q.id}"
        if data.has(name):
            out[str(q.id)] = data.get(name)
    return out


def answers_json(
    questions: list[RegistrationQuestion], answers: dict[int, str]
) -> list[dict[str, Any]]:
    """A player's answers to show: every question they answered or that is still asked."""
    return [
        {
            "question": q.label,
            "question_id": q.id,
            "answer": answers.get(q.id, ""),
            "active": q.active,
        }
        for q in questions
        if q.active or q.id in answers
    ]
