"""English reply wording (the default locale): the template data used by ``replies.render_template``.

Placeholders: ``{name}`` (2018 Honda Civic EX), ``{short}`` (Honda Civic), ``{amount}`` ($11,800),
``{fee}`` ($106.20), ``{time}`` (Saturday, May 4 at 2 PM), ``{location}``, ``{topics}``.

Rules every string here must keep (the guard test enforces them over all variants):
- no acceptance words ("deal", "sounds good", "agreed", "works for me", "sure, $X", ...) outside
  ``accept`` and no rejection words ("can't", "too low", "unfortunately", ...) inside ``accept``;
- no "floor"/"minimum"/"lowest I can"; no warranty, delivery, financing, shipping or "hold it" promises;
- emojis only in friendly/casual *action* variants and at most one per variant, so a composed message
  carries at most one; professional never uses them;
- ``warn_scam`` never accuses ("scam", "fraud", "suspicious") and never asks for or gives data.
"""

from __future__ import annotations

from accorria_agent.negotiation.schemas import Tone

P, F, C = Tone.PROFESSIONAL, Tone.FRIENDLY, Tone.CASUAL

Variants = dict[Tone, tuple[str, ...]]

# ------------------------------------------------------------------ main action sentences

ACTION: dict[str, Variants] = {
    "counter": {
        P: (
            "Thank you for the offer. I can do {amount} on the {name}.",
            "I appreciate the offer. The seller can come down to {amount} for the {name}.",
            "Thank you for your interest in the {name}. I can offer it at {amount}.",
            "Thanks for the offer. {amount} is where I can meet you on the {name}.",
        ),
        F: (
            "Thanks for the offer! I can do {amount} for the {name}.",
            "I appreciate it! How about {amount} for the {name}? 🙂",
            "Thanks! I could meet you at {amount} on the {name}.",
            "Thanks for the offer! I can let the {short} go for {amount}.",
        ),
        C: (
            "Thanks! I can do {amount} on the {short}.",
            "How about {amount} for the {short}? 👍",
            "Could do {amount} for the {short}.",
            "I can meet you at {amount} for the {short}.",
        ),
    },
    "accept": {
        P: (
            "Agreed: {amount} for the {name}.",
            "Thank you, {amount} works for the {name}. We have a deal.",
            "I accept your offer of {amount} for the {name}.",
        ),
        F: (
            "Deal! {amount} for the {name} it is. 🎉",
            "Great news, {amount} works for the {name}!",
            "Sounds good! {amount} for the {name}.",
        ),
        C: (
            "Deal, {amount} it is! 🤝",
            "You got it, {amount} for the {short}.",
            "Sounds good, {amount} for the {short}.",
        ),
    },
    "accept_no_amount": {
        P: ("Agreed, we have a deal on the {name}.", "Thank you, we have a deal on the {name}."),
        F: ("Deal! The {name} is a go. 🎉", "Sounds good, we have a deal on the {name}!"),
        C: ("Deal! 🤝", "You got it, it's a deal on the {short}."),
    },
    "hold": {
        P: (
            "Thank you. I'm going to stay at {amount} for the {name}.",
            "I appreciate it. The price for the {name} stays at {amount}.",
            "Thank you for understanding. I'll stay at {amount} on the {name}.",
        ),
        F: (
            "Thanks! I'm going to stay at {amount} for the {name}.",
            "I hear you! The {short} stays at {amount} for now.",
            "Thanks for understanding! I'll stay at {amount} on the {short}.",
        ),
        C: (
            "Gonna stay at {amount} on the {short}.",
            "I'll stay at {amount} for the {short}.",
            "Staying at {amount} on this one. 👍",
        ),
    },
    "hold_no_amount": {
        P: (
            "Thank you. Take your time and let me know how you'd like to proceed with the {name}.",
            "No rush. Let me know when you're ready to continue about the {name}.",
        ),
        F: (
            "No rush at all! Let me know what you think about the {name}.",
            "Take your time! I'm here when you're ready to talk about the {short}. 🙂",
        ),
        C: ("No rush, just let me know about the {short}.", "Take your time, ping me about the {short}."),
    },
    "decline": {
        P: (
            "Thank you for the offer, but I can't go that low. The price for the {name} is {amount}.",
            "I appreciate the offer, but it's too far below the asking price. The {name} is {amount}.",
            "Thank you, but that's well below the asking price. The {name} is priced at {amount}.",
        ),
        F: (
            "Thanks for the offer! That's a bit too low for the {name}, though. It's {amount}.",
            "I appreciate it, but I can't go that low. I'm at {amount} for the {name}.",
            "Thanks for the offer, but that's too low for the {short}. It's priced at {amount}.",
        ),
        C: (
            "Too low for me, sorry. I'm at {amount} for the {short}.",
            "Can't do that one, sorry. {amount} for the {short}.",
            "That's too low for the {short}. I'm at {amount}.",
        ),
    },
    "decline_no_amount": {
        P: (
            "Thank you for the offer, but I can't go that low on the {name}.",
            "I appreciate the offer, but it's too far below the asking price for the {name}.",
        ),
        F: ("Thanks for the offer! That's a bit too low for the {name}, though.",),
        C: ("Too low for me on the {short}, sorry.",),
    },
    "ask_offer": {
        P: (
            "What would you like to offer for the {name}?",
            "You're welcome to send your offer on the {name}.",
            "If you're interested in the {name}, please send me your offer.",
        ),
        F: (
            "Happy to hear your offer on the {name}! What did you have in mind?",
            "What would you like to offer for the {name}? 🙂",
            "Feel free to make an offer on the {name}!",
        ),
        C: (
            "What are you thinking for the {short}?",
            "Send me an offer on the {short}. 🙂",
            "Got a number in mind for the {short}?",
        ),
    },
    "ask_offer_priced": {
        P: (
            "The {name} is listed at {amount}. What would you like to offer?",
            "The asking price for the {name} is {amount}. You're welcome to send me your offer.",
        ),
        F: (
            "The {name} is listed at {amount}. What would you like to offer? 🙂",
            "I'm asking {amount} for the {name}, and I'm happy to hear your offer!",
        ),
        C: (
            "Asking {amount} for the {short}. What's your offer?",
            "It's {amount} for the {short}. Make me an offer!",
        ),
    },
    "ask_offer_standing": {
        P: ("I'm at {amount} for the {name}. You're welcome to send me your offer.",),
        F: ("I'm at {amount} for the {name}. What would you like to offer? 🙂",),
        C: ("I'm at {amount} for the {short}. What's your offer?",),
    },
    "price": {
        P: ("The {name} is listed at {amount}.", "The asking price for the {name} is {amount}."),
        F: ("The {name} is listed at {amount}.", "I'm asking {amount} for the {name}."),
        C: ("It's {amount} for the {short}.", "Asking {amount} for the {short}."),
    },
    "answer": {
        P: ("Thank you for your interest in the {name}.", "Thanks for your message about the {name}."),
        F: ("Thanks for your interest in the {name}!", "Thanks for reaching out about the {name}! 🙂"),
        C: ("Thanks for the message about the {short}!", "Hey, thanks for checking out the {short}."),
    },
    "answer_empty": {
        P: ("What would you like to know about the {name}?",),
        F: ("What would you like to know about the {name}?", "Any questions about the {short}? Ask away!"),
        C: ("What do you want to know about the {short}?",),
    },
    "viewing_time": {
        P: (
            "Would {time} work for you to see the {name} and take a test drive?",
            "I can arrange a viewing and test drive of the {name} on {time}. Does that suit you?",
        ),
        F: (
            "Would {time} work to come see the {name} and take it for a test drive?",
            "How does {time} sound for a look and a test drive of the {short}? 🙂",
        ),
        C: ("Does {time} work to check out the {short}?", "Want to see the {short} on {time}?"),
    },
    "viewing": {
        P: (
            "Would you like to arrange a viewing and test drive of the {name}? What day suits you?",
            "You're welcome to see the {name} and take a test drive. When would suit you?",
        ),
        F: (
            "Want to come see the {name} and take it for a test drive? What day works for you? 🙂",
            "Happy to set up a test drive of the {name}! When works for you?",
        ),
        C: ("Want to come check out the {short}? What day works?", "Come take the {short} for a spin! When?"),
    },
    "handoff": {
        P: (
            "Thank you. I'm passing this to the seller, a person who will reply here soon.",
            "Thank you for your patience. The seller will reply to you here personally soon.",
        ),
        F: (
            "Great question for the seller! They'll reply to you here personally soon.",
            "Thanks! I'm handing this to the seller, and they'll reply here soon.",
        ),
        C: ("Let me loop in the seller, they'll reply here soon.", "The seller will jump in here soon!"),
    },
    "scam": {
        P: (
            "Thank you for reaching out. The seller handles payment and pickup details directly and will "
            "follow up with you here.",
            "Thank you for your message. The seller will follow up with you here directly.",
        ),
        F: (
            "Thanks for the message! The seller will follow up with you here directly.",
            "Thanks for reaching out! The seller takes care of those details personally and will follow "
            "up here.",
        ),
        C: (
            "Thanks! The seller will follow up with you here on that.",
            "Got it, the seller will follow up here.",
        ),
    },
}  # fmt: skip

# ------------------------------------------------------------------ extra sentences (no emojis)

EXTRA: dict[str, Variants] = {
    "greeting": {P: ("Hello.",), F: ("Hi there!", "Hi!"), C: ("Hey!", "Hey there!")},
    "thanks": {P: ("You're welcome.",), F: ("You're welcome!",), C: ("No problem!", "Anytime!")},
    "available": {
        P: ("Yes, it's still available.", "Yes, the {short} is still available.", "It is still available."),
        F: ("Yes, it's still available!", "Yes, the {short} is still available!"),
        C: ("Yes, it's still available!", "Yes, it's still available."),
    },
    "sold": {
        # Not "sold": the guard reads that word as an acceptance.
        P: ("I'm sorry, the {short} is no longer for sale; it already has a new owner.",),
        F: ("Sorry, the {short} is no longer for sale; it already has a new owner.",),
        C: ("Sorry, the {short} already has a new owner.",),
    },
    "pending": {
        P: ("The {short} has a sale pending with another buyer right now.",),
        F: ("The {short} has a sale pending with another buyer right now.",),
        C: ("The {short} has a sale pending right now.",),
    },
    "paused": {
        P: ("The {short} is not available at the moment.",),
        F: ("The {short} isn't available at the moment.",),
        C: ("The {short} isn't available right now.",),
    },
    "location_area": {
        P: ("It's in {location}; the exact address is shared once a test drive is booked.",),
        F: ("It's in {location}! The exact address comes once a test drive is booked.",),
        C: ("It's in {location}, exact address once a test drive is booked.",),
    },
    "location_known": {
        P: ("It's located in {location}.", "The car is in {location}."),
        F: ("It's in {location}.", "The {short} is in {location}."),
        C: ("It's in {location}.",),
    },
    "location_unknown": {
        P: ("I'll ask the seller to share the exact location with you.",),
        F: ("I'll ask the seller to share the exact location with you!",),
        C: ("I'll get the seller to share the location with you.",),
    },
    "unknown_topics": {
        P: ("I'll ask the seller about the {topics} and get back to you here.",),
        F: ("Good question! I'll ask the seller about the {topics} and get back to you here.",),
        C: ("I'll ask the seller about the {topics} and let you know here.",),
    },
    "financing_unknown": {
        P: ("I'll ask the seller about the financing and get back to you here.",),
        F: ("I'll ask the seller about the financing and get back to you here.",),
        C: ("I'll ask the seller about the financing and let you know.",),
    },
    "schedule": {
        P: ("I'd be glad to set up a time for you to see it.",),
        F: ("Happy to set up a time for you to see it!",),
        C: ("Happy to set up a time to see it.",),
    },
    "schedule_time": {
        P: ("Would {time} work for a viewing?",),
        F: ("Would {time} work to see it?",),
        C: ("Does {time} work to see it?",),
    },
    "payment_escrow": {
        P: ("Payment can go through Accorria escrow, which holds the payment safely.",),
        F: ("You can pay through Accorria escrow, which holds the payment safely.",),
        C: ("You can pay through Accorria escrow, it holds the payment safely.",),
    },
    "payment_seller": {
        P: ("The seller will confirm the payment details with you.",),
        F: ("The seller will go over payment details with you.",),
        C: ("The seller will sort out payment details with you.",),
    },
    "trade_in": {
        P: ("I'll ask the seller about a trade-in and get back to you here.",),
        F: ("I'll ask the seller about a trade-in and get back to you here!",),
        C: ("I'll ask the seller about a trade-in and let you know.",),
    },
    "human": {
        P: ("I'll let the seller know you'd like to speak with them.",),
        F: ("I'll let the seller know you'd like to chat with them!",),
        C: ("I'll let the seller know you want to talk.",),
    },
    "next_viewing": {
        P: ("Next, let's arrange a time for you to see it and take a test drive.",),
        F: ("Next step: let's find a time for you to see it and take a test drive!",),
        C: ("Let's find a time for you to see it and take it for a spin.",),
    },
    "next_viewing_time": {
        P: ("Would {time} work for the viewing and test drive?",),
        F: ("Would {time} work to see it and take a test drive?",),
        C: ("Does {time} work to see it?",),
    },
    "escrow": {
        P: ("Accorria escrow holds the payment safely; fee 0.9 % ({fee}).",),
        F: ("If you'd like, Accorria escrow holds the payment safely; fee 0.9 % ({fee}).",),
        C: ("Accorria escrow can hold the payment safely; fee 0.9 % ({fee}).",),
    },
    "escrow_no_fee": {
        P: ("Accorria escrow holds the payment safely; the fee is 0.9 % of the price.",),
        F: ("If you'd like, Accorria escrow holds the payment safely (fee 0.9 % of the price).",),
        C: ("Accorria escrow can hold the payment safely (0.9 % fee).",),
    },
}

# ------------------------------------------------------------------ vehicle facts (tone-neutral)

FACT_SENTENCES: dict[str, str] = {
    "mileage": "It has {value} miles.",
    "features": "Features include {value}.",
    "trim": "It's the {value} trim.",
    "year": "It's a {value}.",
    "photos": "There are {value} on the listing.",
    "title": "The title is {value}.",
    "accidents": "Accident history: {value}.",
    "owners": "Owners: {value}.",
    "color": "The color is {value}.",
}
GENERIC_FACT = "{label}: {value}."
DESCRIPTION_FACT = 'From the listing: "{value}"'

# Topics whose name is also a promise word: asked about one per sentence, right after "about the", the
# only position where the guard reads them as a question rather than a promise.
PROMISE_TOPICS = frozenset({"warranty", "delivery", "financing", "shipping"})

# How unknown topics are named in "I'll check with the seller about the …".
TOPIC_LABELS: dict[str, str] = {
    "general": "other details", "vin": "VIN", "mpg": "fuel economy", "climate": "A/C and heat",
    "history": "vehicle history", "warning lights": "warning lights", "drivetrain": "drivetrain",
    "registration": "registration", "inspection": "inspection",
}  # fmt: skip

# Buyer topic words -> the canonical topic above (or a details key).
TOPIC_SYNONYMS: dict[str, str] = {
    "miles": "mileage", "odometer": "mileage", "km": "mileage", "kilometers": "mileage",
    "options": "features", "equipment": "features", "feature": "features",
    "pictures": "photos", "pics": "photos", "images": "photos", "photo": "photos", "picture": "photos",
    "accident": "accidents", "accident history": "accidents", "crash": "accidents", "damage": "accidents",
    "owner": "owners", "previous owners": "owners", "owner history": "owners",
    "colour": "color", "paint": "color", "title status": "title", "clean title": "title",
    "model year": "year",
}  # fmt: skip

# ------------------------------------------------------------------ the seller's answer, relayed

SELLER_ANSWER = "The seller answered your question about the {topic}: {answer}"

# The automation disclosure used when the seller kept the default text (their own text wins).
DISCLOSURE = "Hi! I'm the seller's automated assistant. Ask me anything, or tap 'Talk to the seller'."

# Words that mark a buyer message as written in this language (normalised: lower-case, no accents).
MARKERS = frozenset({
    "the", "is", "it", "this", "still", "available", "how", "much", "what", "would", "you", "take",
    "can", "do", "does", "have", "any", "price", "car", "miles", "thanks", "hi", "hello", "deal",
    "yes", "lowest", "offer", "where", "are", "i", "my", "and", "for", "with", "when",
})  # fmt: skip

# Quick-reply titles (Messenger caps them at 20 characters).
QUICK_REPLIES: dict[str, str] = {
    "MAKE_OFFER": "Make an offer",
    "SCHEDULE_TEST_DRIVE": "Book a test drive",
    "TALK_TO_SELLER": "Talk to the seller",
    "VIEW_DETAILS": "Car details",
    "START_ESCROW": "Use Accorria escrow",
}

# Test drives (``scheduling/texts.py``): a slot as the buyer reads it, and every booking text. No year in
# a date (a four-digit number could read as a price); 12-hour clocks for the same reason.
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAYS_SHORT = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")  # fmt: skip  # noqa: E501
MONTHS_SHORT = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MERIDIEM = ("AM", "PM")
MERIDIEM_SHORT = ("AM", "PM")  # in a quick reply's 20-character title
SLOT_TIME = "{weekday}, {month} {day} at {clock}"
SLOT_TITLE = "{weekday} {month} {day}, {clock}"

TEST_DRIVE: dict[str, str] = {
    "place": " Meet at: {address}.",
    "no_place": " The seller will send you the exact address here.",
    "booked": "You're booked for a test drive of the {car} on {when}.{place} Need to change it? Just tell me here.",  # noqa: E501
    "already_booked": "You're all set: your test drive of the {car} is on {when}.{place}",
    "moved": "Done, your test drive is moved to {when}.{place}",
    "keeping": " Your test drive stays on {keeping} until then.",
    "no_slots": "I don't have a free test-drive time in the next few weeks. The seller will reach out to set one up.",  # noqa: E501
    "near": " in {area}",
    "or": " or ",
    "free": "Happy to set up a test drive{near}! The next free times are {listed}. Tap one to book it.",
    "taken": "is already taken",
    "closed": "isn't one of the seller's open times",
    "not_free": "Sorry, {wanted} {reason}. The nearest free times{near} are {listed}. Tap one to book it.",
    "cancelled": "No problem, I've cancelled your test drive on {when}.{tail}",
    "cancelled_tail": " If you'd like another time, tap one below or tell me a day.",
    "cancelled_by_seller": "Sorry, the seller had to cancel your test drive on {when}. Tell me another day or time you'd like and I'll book it.",  # noqa: E501
    "reminder": "Reminder: your test drive of the {car} is {when}.{place} Reply here if anything changes.",
    "fallback": "Thanks! The seller will confirm the test drive time with you here shortly.",
}
