"""Bounded HTTP load for the service benchmark: wrk (C, one thread, keep-alive connections, a Lua
hook choosing each request) when it is installed, else an asyncio client in this process.

Both return the latencies' p50 and p99 and the throughput of a fixed-length run at a fixed
concurrency; wrk also takes almost no CPU from the server it measures, which on a 2-core machine
is most of the difference between the two.

Two kinds of load: *saturated* (``rate=None``: each connection sends its next request as soon
as the last is answered, so throughput is the server's capacity and latency mostly queueing
behind the other 15) and *paced* (``rate`` requests a second in all: each connection waits an
exponentially distributed think time between requests, as clients at desks do, so latency is
what one request costs at that load). wrk times a paced request from when it is sent.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import numpy as np

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass(frozen=True)
class Case:
    """Requests of one kind: ``path`` with ``{uscc}`` filled per request from ``codes``."""

    method: str
    path: str
    body: dict[str, object] | None = None  # its string values may hold {uscc} too


@dataclass(frozen=True)
class Figures:
    p50_ms: float
    p99_ms: float
    per_second: float
    requests: int
    client: str


def _lua(case: Case, codes: list[str], token: str, folder: Path, think_ms: float | None) -> Path:
    (folder / "codes.txt").write_text("\n".join(codes))
    body = json.dumps(case.body, ensure_ascii=False) if case.body is not None else ""
    script = folder / "case.lua"
    script.write_text(
        f"""
local codes = {{}}
for line in io.lines("{folder / "codes.txt"}") do codes[#codes + 1] = line end
local headers = {{["Authorization"] = "Bearer {token}", ["Content-Type"] = "application/json"}}
local path, body = {json.dumps(case.path)}, {json.dumps(body)}
math.randomseed(0)
request = function()
  local code = codes[math.random(#codes)]
  local b = nil
  if body ~= "" then b = string.gsub(body, "{{uscc}}", code) end
  return wrk.format("{case.method}", (string.gsub(path, "{{uscc}}", code)), headers, b)
end
{_pacing(think_ms)}
done = function(summary, latency, requests)
  io.write(string.format("non200 %d\\n", summary.errors.status))
end
"""
    )
    return script


def _pacing(think_ms: float | None) -> str:
    if think_ms is None:
        return ""
    return f"delay = function() return -math.log(1 - math.random()) * {think_ms:.3f} end"


def _think_ms(rate: float | None, concurrency: int) -> float | None:
    """The mean think time per connection that offers ``rate`` requests a second in all."""
    return None if rate is None else concurrency / rate * 1e3


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if m is None:
        raise ValueError(f"wrk printed a latency I cannot read: {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def with_wrk(
    base: str,
    case: Case,
    codes: list[str],
    token: str,
    *,
    concurrency: int,
    seconds: float,
    rate: float | None = None,
) -> Figures:
    with tempfile.TemporaryDirectory() as tmp:
        script = _lua(case, codes, token, Path(tmp), _think_ms(rate, concurrency))
        command = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "30s"]
        out = subprocess.run(
            [*command, "--latency", "-s", str(script), base],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    found = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    bad = re.search(r"^non200 (\d+)$", out, re.M)
    if bad is None or int(bad.group(1)) or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"{case.method} {case.path}: failed requests under load:\n{out}")
    done = re.search(r"^\s*(\d+) requests in", out, re.M)
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    if not (found and done and rate):
        raise RuntimeError(f"wrk printed what I cannot read:\n{out}")
    return Figures(
        _ms(found["50"]), _ms(found["99"]), float(rate.group(1)), int(done.group(1)), "wrk"
    )


async def _python(
    base: str,
    case: Case,
    codes: list[str],
    token: str,
    concurrency: int,
    seconds: float,
    rate: float | None = None,
) -> Figures:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    rng = np.random.default_rng(0)
    body = json.dumps(case.body) if case.body is not None else None
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=30
    ) as client:
        stop = time.perf_counter() + seconds
        think = _think_ms(rate, concurrency)

        async def worker() -> None:
            while time.perf_counter() < stop:
                if think is not None:
                    await asyncio.sleep(float(rng.exponential(think)) / 1e3)
                code = codes[int(rng.integers(len(codes)))]
                content = body.replace("{uscc}", code) if body else None
                start = time.perf_counter()
                r = await client.request(
                    case.method,
                    case.path.replace("{uscc}", code),
                    content=content,
                    headers={"Content-Type": "application/json"} if content else None,
                )
                if r.status_code != 200:
                    raise RuntimeError(f"{case.method} {case.path}: {r.status_code} {r.text[:200]}")
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    p50, p99 = np.percentile(np.array(latencies) * 1e3, [50, 99])
    return Figures(float(p50), float(p99), len(latencies) / wall, len(latencies), "python")


def load(
    base: str,
    case: Case,
    codes: list[str],
    token: str,
    *,
    concurrency: int = 16,
    seconds: float = 10,
    rate: float | None = None,
) -> Figures:
    """A warm-up of a second, then ``seconds`` of load at ``concurrency``: saturated, or paced
    at ``rate`` requests a second in all."""
    if shutil.which("wrk"):
        with_wrk(base, case, codes, token, concurrency=concurrency, seconds=1, rate=rate)
        return with_wrk(
            base, case, codes, token, concurrency=concurrency, seconds=seconds, rate=rate
        )
    asyncio.run(_python(base, case, codes, token, concurrency, 1, rate))
    return asyncio.run(_python(base, case, codes, token, concurrency, seconds, rate))
