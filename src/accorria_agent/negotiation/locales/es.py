"""Spanish reply wording. Keys missing here fall back to English (``en.py``); tones missing to friendly.

Same rules as ``en.py`` (the guard test runs over every variant of every locale): no acceptance words
("trato hecho", "de acuerdo", "acepto", "vendido", "deal" …) outside ``accept``; no rejection words ("no
puedo" …) inside it; no "mínimo"; no promise of warranty, delivery or financing.
"""

# Translations are data: each sentence stays on one line so that it can be read and edited whole.
# ruff: noqa: E501

from __future__ import annotations

from accorria_agent.negotiation.schemas import Tone

P, F, C = Tone.PROFESSIONAL, Tone.FRIENDLY, Tone.CASUAL

Variants = dict[Tone, tuple[str, ...]]

ACTION: dict[str, Variants] = {
    "counter": {
        P: ("Gracias por su oferta. Puedo dejar el {name} en {amount}.",),
        F: ("¡Gracias por la oferta! Te puedo dejar el {name} en {amount}.",
            "¡Gracias! ¿Qué tal {amount} por el {name}? 🙂"),
        C: ("Te lo dejo en {amount}, el {short}.",),
    },
    "accept": {
        P: ("Trato hecho: {amount} por el {name}.",),
        F: ("¡Trato hecho! {amount} por el {name}. 🎉", "¡Perfecto, {amount} por el {name}!"),
        C: ("¡Trato hecho, {amount}! 🤝",),
    },
    "accept_no_amount": {
        P: ("Trato hecho con el {name}.",),
        F: ("¡Trato hecho con el {name}! 🎉",),
        C: ("¡Trato hecho! 🤝",),
    },
    "hold": {
        P: ("Gracias. Me quedo en {amount} por el {name}.",),
        F: ("¡Gracias! Me quedo en {amount} por el {name}.", "Te entiendo. El {short} se queda en {amount}."),
        C: ("Me quedo en {amount} por el {short}.",),
    },
    "hold_no_amount": {
        F: ("¡Sin prisa! Avísame qué piensas del {name}.",),
    },
    "decline": {
        P: ("Gracias por la oferta, pero es demasiado baja. El {name} está en {amount}.",),
        F: ("Gracias por la oferta, pero es muy baja para el {name}. Está en {amount}.",),
        C: ("Muy baja, lo siento. Estoy en {amount} por el {short}.",),
    },
    "decline_no_amount": {
        F: ("Gracias por la oferta, pero es muy baja para el {name}.",),
    },
    "ask_offer": {
        P: ("¿Cuánto le gustaría ofrecer por el {name}?",),
        F: ("¿Cuánto te gustaría ofrecer por el {name}? 🙂", "¡Con gusto escucho tu oferta por el {name}!"),
        C: ("¿Cuánto ofreces por el {short}?",),
    },
    "ask_offer_priced": {
        P: ("El precio del {name} es {amount}. ¿Cuánto le gustaría ofrecer?",),
        F: ("El {name} está en {amount}. ¿Cuánto te gustaría ofrecer? 🙂",),
        C: ("Está en {amount} el {short}. ¿Cuánto ofreces?",),
    },
    "ask_offer_standing": {
        F: ("Estoy en {amount} por el {name}. ¿Cuánto te gustaría ofrecer? 🙂",),
    },
    "price": {
        P: ("El precio del {name} es {amount}.",),
        F: ("El {name} está en {amount}.", "Pido {amount} por el {name}."),
        C: ("Está en {amount} el {short}.",),
    },
    "answer": {
        P: ("Gracias por su interés en el {name}.",),
        F: ("¡Gracias por tu interés en el {name}!",),
        C: ("¡Gracias por escribir sobre el {short}!",),
    },
    "answer_empty": {
        F: ("¿Qué te gustaría saber del {name}?",),
    },
    "viewing_time": {
        F: ("¿Te queda bien el {time} para ver el {name} y hacer una prueba de manejo?",),
    },
    "viewing": {
        F: ("¿Quieres venir a ver el {name} y hacer una prueba de manejo? ¿Qué día te queda bien? 🙂",),
    },
    "handoff": {
        F: ("¡Gracias! Le paso tu mensaje al vendedor y te responderá aquí pronto.",),
    },
    "scam": {
        F: ("¡Gracias por tu mensaje! El vendedor te responderá aquí directamente.",),
    },
}  # fmt: skip

EXTRA: dict[str, Variants] = {
    "greeting": {P: ("Hola.",), F: ("¡Hola!",), C: ("¡Hola!",)},
    "thanks": {P: ("Con gusto.",), F: ("¡Con gusto!",), C: ("¡De nada!",)},
    "available": {F: ("Sí, todavía está disponible.", "Sí, el {short} sigue disponible.")},
    "sold": {F: ("Lo siento, el {short} ya se vendió.",)},
    "pending": {F: ("El {short} tiene una venta pendiente con otro comprador en este momento.",)},
    "paused": {F: ("El {short} no está disponible por ahora.",)},
    "location_known": {F: ("Está en {location}.",)},
    "location_area": {F: ("Está en {location}. La dirección exacta se comparte al reservar la prueba de manejo.",)},
    "location_unknown": {F: ("Le pediré al vendedor que te comparta la ubicación.",)},
    "unknown_topics": {F: ("¡Buena pregunta! Le voy a preguntar al vendedor sobre {topics} y te aviso aquí.",)},
    "financing_unknown": {F: ("Le voy a preguntar al vendedor sobre el financiamiento y te aviso aquí.",)},
    "schedule": {F: ("¡Con gusto coordinamos un horario para que lo veas!",)},
    "schedule_time": {F: ("¿Te queda bien el {time} para verlo?",)},
    "payment_escrow": {F: ("Puedes pagar con el escrow de Accorria, que guarda el pago de forma segura.",)},
    "payment_seller": {F: ("El vendedor revisará contigo los detalles del pago.",)},
    "trade_in": {F: ("Le voy a preguntar al vendedor si acepta un auto a cambio y te aviso aquí.",)},
    "human": {F: ("Le avisaré al vendedor que quieres hablar con él.",)},
    "next_viewing": {F: ("Siguiente paso: busquemos un horario para que lo veas y hagas una prueba de manejo.",)},
    "next_viewing_time": {F: ("¿Te queda bien el {time} para verlo y hacer una prueba de manejo?",)},
    "escrow": {F: ("Si quieres, el escrow de Accorria guarda el pago de forma segura; comisión 0.9 % ({fee}).",)},
    "escrow_no_fee": {F: ("Si quieres, el escrow de Accorria guarda el pago de forma segura (comisión 0.9 %).",)},
}  # fmt: skip

FACT_SENTENCES: dict[str, str] = {
    "mileage": "Tiene {value} millas.",
    "features": "Incluye {value}.",
    "trim": "Es la versión {value}.",
    "year": "Es un {value}.",
    "photos": "Hay {value} en el anuncio.",
    "title": "El título es {value}.",
    "accidents": "Historial de accidentes: {value}.",
    "owners": "Dueños: {value}.",
    "color": "El color es {value}.",
}
GENERIC_FACT = "{label}: {value}."
DESCRIPTION_FACT = 'Del anuncio: "{value}"'

TOPIC_LABELS: dict[str, str] = {
    "general": "otros detalles", "vin": "el VIN", "mpg": "el consumo de gasolina", "climate": "el aire y la calefacción",
    "history": "el historial del vehículo", "warning lights": "las luces de advertencia", "drivetrain": "la tracción",
    "registration": "el registro", "inspection": "la inspección", "rust": "el óxido", "mileage": "el millaje",
    "title": "el título", "accidents": "los accidentes", "owners": "los dueños", "color": "el color",
    "condition": "el estado", "maintenance": "el mantenimiento", "transmission": "la transmisión",
    "engine": "el motor", "tires": "las llantas", "brakes": "los frenos", "interior": "el interior",
    "keys": "las llaves", "warranty": "la garantía", "features": "el equipamiento", "photos": "las fotos",
    "delivery": "la entrega", "financing": "el financiamiento", "trade in": "un auto a cambio",
}  # fmt: skip

QUICK_REPLIES: dict[str, str] = {
    "MAKE_OFFER": "Hacer una oferta",
    "SCHEDULE_TEST_DRIVE": "Prueba de manejo",
    "TALK_TO_SELLER": "Hablar con vendedor",
    "VIEW_DETAILS": "Detalles del auto",
    "START_ESCROW": "Escrow de Accorria",
}

SELLER_ANSWER = "El vendedor respondió a tu pregunta sobre {topic}: {answer}"

DISCLOSURE = "¡Hola! Soy el asistente automático del vendedor. Pregúntame lo que quieras, o toca 'Hablar con vendedor'."

MARKERS = frozenset({
    "hola", "gracias", "esta", "todavia", "sigue", "disponible", "cuanto", "precio", "carro", "coche",
    "auto", "puedo", "puede", "usted", "tienes", "tiene", "cual", "donde", "que", "el", "la", "lo", "los",
    "las", "es", "por", "para", "con", "mil", "millas", "te", "doy", "ofrezco", "trato", "hecho", "menos",
    "buenas", "buenos", "dias", "tardes", "si", "quiero", "verlo", "titulo", "aceptas", "acepta", "pago",
    "efectivo", "ultimo", "cuando", "manana", "hoy", "una", "un", "de", "y", "muy", "bueno", "vale",
})  # fmt: skip

# Pruebas de manejo (``scheduling/texts.py``): sin año en la fecha y con reloj de 12 horas (un número de
# cuatro cifras podría leerse como precio).
WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
WEEKDAYS_SHORT = ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")
MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre")  # fmt: skip
MONTHS_SHORT = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")
# "a las 5 de la tarde" (a sentence may end with it: no abbreviation's dot), "mar 8 dic 5 pm" in a title.
MERIDIEM = ("de la mañana", "de la tarde")
MERIDIEM_SHORT = ("am", "pm")
SLOT_TIME = "{weekday} {day} de {month} a las {clock}"
SLOT_TITLE = "{weekday} {day} {month} {clock}"

TEST_DRIVE: dict[str, str] = {
    "place": " Punto de encuentro: {address}.",
    "no_place": " El vendedor te enviará aquí la dirección exacta.",
    "booked": "Listo, tienes una prueba de manejo del {car} el {when}.{place} ¿Necesitas cambiarla? Solo dímelo aquí.",
    "already_booked": "Ya está todo listo: tu prueba de manejo del {car} es el {when}.{place}",
    "moved": "Hecho, tu prueba de manejo queda para el {when}.{place}",
    "keeping": " Mientras tanto, tu prueba de manejo sigue el {keeping}.",
    "no_slots": "No tengo horarios libres para una prueba de manejo en las próximas semanas. El vendedor te escribirá para buscar uno.",
    "near": " en {area}",
    "or": " o ",
    "free": "¡Con gusto te preparo una prueba de manejo{near}! Los próximos horarios libres son {listed}. Toca uno para reservarlo.",
    "taken": "ya está ocupado",
    "closed": "no es uno de los horarios del vendedor",
    "not_free": "Lo siento, el {wanted} {reason}. Los horarios libres más cercanos{near} son {listed}. Toca uno para reservarlo.",
    "cancelled": "Sin problema, cancelé tu prueba de manejo del {when}.{tail}",
    "cancelled_tail": " Si quieres otro horario, toca uno abajo o dime un día.",
    "cancelled_by_seller": "Lo siento, el vendedor tuvo que cancelar tu prueba de manejo del {when}. Dime otro día u hora que te quede bien y la reservo.",
    "reminder": "Recordatorio: tu prueba de manejo del {car} es el {when}.{place} Escríbeme aquí si algo cambia.",
    "fallback": "¡Gracias! El vendedor te confirmará aquí la hora de la prueba de manejo en breve.",
}
