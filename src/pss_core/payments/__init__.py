"""Online payments: Stripe PaymentIntents for held purchases, webhooks, late payments and refunds.

``stripe_gateway`` is the only module that talks to Stripe; ``online`` runs the player's purchase
(hold → PaymentIntent → verified payment); ``refunds`` gives money back for unused tokens.
"""
