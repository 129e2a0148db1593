"""Online payments: payments at the event's provider for held purchases, webhooks, late payments
and refunds.

``providers`` picks the event's payment provider (:class:`~pss_core.contract.PaymentProvider`);
``stripe_gateway`` is the built-in Stripe provider and the only module that talks to Stripe;
``online`` runs the player's purchase (hold → payment → verified payment); ``refunds`` gives money
back for unused tokens.
"""
