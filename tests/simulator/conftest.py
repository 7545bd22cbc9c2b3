"""Fixtures: a simulator wired to a small recording 'agent' app, both driven in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from accorria_agent.simulator import Simulator

from .helpers import CONFIG, Recorder, make_agent_app


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def sim(recorder: Recorder) -> AsyncIterator[Simulator]:
    transport = httpx.ASGITransport(app=make_agent_app(recorder))
    async with httpx.AsyncClient(transport=transport, base_url="http://agent.test") as agent_client:
        simulator = Simulator(CONFIG, agent_client)
        yield simulator
        await simulator.aclose()


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(sim.graph_router, prefix="/graph")
    app.include_router(sim.ui_router, prefix="/simulator")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim.test") as c:
        yield c
