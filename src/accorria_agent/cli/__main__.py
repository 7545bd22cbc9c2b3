"""``python -m accorria_agent.cli`` (how the benchmarks and tests start server processes)."""

from accorria_agent.cli import main

if __name__ == "__main__":
    main()
