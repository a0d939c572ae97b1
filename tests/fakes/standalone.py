"""Run the fake SDP and fake LLM in their own process, for benchmarks.

``python -m tests.fakes.standalone --llm-latency 2`` prints one JSON line with both base URLs
and serves until killed. The SDP fake answers any numeric ticket id (``autocreate``), so a load
generator needs no seeding.
"""

from __future__ import annotations

import argparse
import json
import threading

from tests.fakes.llm import running_llm
from tests.fakes.sdp import running_sdp


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--llm-latency", type=float, default=2.0)
    parser.add_argument("--llm-mode", default="ok")
    args = parser.parse_args()
    with running_sdp() as sdp, running_llm() as llm:
        sdp.state.autocreate = True
        llm.state.latency_seconds = args.llm_latency
        llm.state.mode = args.llm_mode
        print(
            json.dumps({"sdp": sdp.base_url, "sdp_key": sdp.api_key, "llm": llm.base_url}),
            flush=True,
        )
        threading.Event().wait()


if __name__ == "__main__":
    main()
