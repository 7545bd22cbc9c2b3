"""French reply wording (the third language: a file, no code change). Gaps fall back to English.

Same rules as ``en.py``; the guard knows the French acceptance and floor words ("marché conclu",
"d'accord", "j'accepte", "prix minimum", "prix plancher"). The parser reads French amounts but not yet
French intents, so a French buyer is answered in French on what the amounts and topics say.
"""

# Translations are data: each sentence stays on one line so that it can be read and edited whole.
# ruff: noqa: E501

from __future__ import annotations

from accorria_agent.negotiation.schemas import Tone

F = Tone.FRIENDLY

Variants = dict[Tone, tuple[str, ...]]

ACTION: dict[str, Variants] = {
    "counter": {F: ("Merci pour l'offre ! Je peux vous faire la {name} à {amount}.",)},
    "accept": {F: ("Marché conclu ! {amount} pour la {name}. 🎉",)},
    "accept_no_amount": {F: ("Marché conclu pour la {name} ! 🎉",)},
    "hold": {F: ("Merci ! Je reste à {amount} pour la {name}.",)},
    "hold_no_amount": {F: ("Prenez votre temps, dites-moi ce que vous pensez de la {name}.",)},
    "decline": {F: ("Merci pour l'offre, mais c'est trop bas pour la {name}. Elle est à {amount}.",)},
    "decline_no_amount": {F: ("Merci pour l'offre, mais c'est trop bas pour la {name}.",)},
    "ask_offer": {F: ("Combien aimeriez-vous proposer pour la {name} ? 🙂",)},
    "ask_offer_priced": {F: ("La {name} est affichée à {amount}. Combien aimeriez-vous proposer ? 🙂",)},
    "ask_offer_standing": {F: ("Je suis à {amount} pour la {name}. Combien aimeriez-vous proposer ? 🙂",)},
    "price": {F: ("La {name} est affichée à {amount}.",)},
    "answer": {F: ("Merci de votre intérêt pour la {name} !",)},
    "answer_empty": {F: ("Que voulez-vous savoir sur la {name} ?",)},
    "viewing_time": {F: ("Est-ce que {time} vous convient pour voir la {name} et l'essayer ?",)},
    "viewing": {F: ("Voulez-vous venir voir la {name} et l'essayer ? Quel jour vous convient ? 🙂",)},
    "handoff": {F: ("Merci ! Je transmets au vendeur, qui vous répondra ici bientôt.",)},
    "scam": {F: ("Merci pour votre message ! Le vendeur vous répondra ici directement.",)},
}

EXTRA: dict[str, Variants] = {
    "greeting": {F: ("Bonjour !",)},
    "thanks": {F: ("Avec plaisir !",)},
    "available": {F: ("Oui, elle est toujours disponible.",)},
    "sold": {F: ("Désolé, la {short} a déjà trouvé preneur.",)},
    "pending": {F: ("La {short} a une vente en cours avec un autre acheteur.",)},
    "paused": {F: ("La {short} n'est pas disponible pour le moment.",)},
    "location_known": {F: ("Elle est à {location}.",)},
    "location_area": {F: ("Elle est à {location}. L'adresse exacte est donnée une fois l'essai réservé.",)},
    "location_unknown": {F: ("Je demande au vendeur de vous indiquer l'emplacement.",)},
    "unknown_topics": {
        F: ("Bonne question ! Je pose la question au vendeur ({topics}) et je reviens vers vous ici.",)
    },
    "schedule": {F: ("Avec plaisir, fixons un moment pour que vous la voyiez !",)},
    "payment_seller": {F: ("Le vendeur verra avec vous les détails du paiement.",)},
    "trade_in": {F: ("Je demande au vendeur s'il accepte une reprise et je reviens vers vous ici.",)},
}

SELLER_ANSWER = "Le vendeur a répondu à votre question ({topic}) : {answer}"

DISCLOSURE = "Bonjour ! Je suis l'assistant automatique du vendeur. Posez-moi vos questions, ou touchez « Parler au vendeur »."

QUICK_REPLIES: dict[str, str] = {
    "MAKE_OFFER": "Faire une offre",
    "SCHEDULE_TEST_DRIVE": "Réserver un essai",
    "TALK_TO_SELLER": "Parler au vendeur",
    "VIEW_DETAILS": "Détails",
    "START_ESCROW": "Escrow Accorria",
}

MARKERS = frozenset({
    "bonjour", "merci", "voiture", "toujours", "vous", "est-ce", "combien", "prix", "je", "peux", "pouvez",
    "elle", "il", "oui", "non", "kilometres", "disponible", "offre", "vendeur", "avec", "pour", "mon",
    "votre", "bonsoir", "salut", "accepter", "acceptez", "quand", "aujourd", "demain", "est",
})  # fmt: skip
