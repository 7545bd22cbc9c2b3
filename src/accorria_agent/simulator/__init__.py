"""Local Messenger simulator: a faithful stand-in for Meta's Graph API and Messenger buyers.

The agent talks to :attr:`Simulator.graph_router` exactly as it would to
``graph.facebook.com`` (Send API, user profile, messenger_profile, OAuth…), while buyers
(the chat page, tests, the CLI) send it signed ``X-Hub-Signature-256`` webhooks through
:meth:`Simulator.send_buyer_message` or the JSON API of :attr:`Simulator.ui_router`.

Usage::

    sim = Simulator(config, deliver_client=httpx.AsyncClient())
    app.include_router(sim.graph_router, prefix="/graph")      # FACEBOOK_GRAPH_URL=http://host:port/graph
    app.include_router(sim.ui_router, prefix="/simulator")
    ...
    await sim.aclose()
"""

from .config import LIKE_STICKER_ID, PAGE_INBOX_APP_ID, SimulatorConfig
from .core import DeliveryResult, Simulator, SimulatorInputError
from .state import SimulatorState
from .webhooks import encode, signature_headers

__all__ = [
    "LIKE_STICKER_ID",
    "PAGE_INBOX_APP_ID",
    "DeliveryResult",
    "Simulator",
    "SimulatorConfig",
    "SimulatorInputError",
    "SimulatorState",
    "encode",
    "signature_headers",
]
