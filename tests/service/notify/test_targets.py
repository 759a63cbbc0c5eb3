"""Which webhook URLs may be called, and the signature a receiver checks."""

from __future__ import annotations

import pytest

from service.engine.notify.errors import NotifyInputError
from service.engine.notify.signing import signature, verify
from service.engine.notify.targets import resolve


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/h",
        "https://192.168.0.1/",
        "http://169.254.169.254/",
        "gopher://127.0.0.1/",
        "http:///nohost",
        "http://127.0.0.1:99999/",
        "http://a:b@localhost/",
    ],
)
def test_refused_unless_loopback(url: str) -> None:
    with pytest.raises(NotifyInputError):
        resolve(url)


def test_loopback_names_and_listed_networks_and_hosts() -> None:
    assert resolve("http://127.0.0.1:8080/h?x=1").path == "/h?x=1"
    assert resolve("http://localhost/").address in ("127.0.0.1", "::1")
    assert resolve("https://[::1]:8443/").port == 8443
    assert resolve("http://10.1.2.3/h", allowed=["10.0.0.0/8"]).address == "10.1.2.3"
    with pytest.raises(NotifyInputError, match="allowed_hosts"):
        resolve("http://10.1.2.3/h", allowed=["192.168.0.0/16"])


def test_signature_is_hmac_over_timestamp_and_body() -> None:
    header = signature("k" * 20, 1_700_000_000, b'{"id":1}')
    assert verify("k" * 20, header, b'{"id":1}', now=1_700_000_100)
    assert not verify("k" * 20, header, b'{"id":2}', now=1_700_000_100)
    assert not verify("k" * 20, header, b'{"id":1}', now=1_700_001_000)  # too old: a replay
    assert not verify("k" * 20, "garbage", b'{"id":1}', now=1_700_000_000)


def test_the_readme_snippet_verifies_a_signature() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[3] / "README.md").read_text()
    snippet = text.split("Verify it:\n\n```python\n", 1)[1].split("```", 1)[0]
    assert len([line for line in snippet.splitlines() if line.strip()]) == 5
    space: dict[str, object] = {}
    exec(snippet, space)
    verified = space["verified"]
    import time

    body = b'{"id":7}'
    header = signature("whsec_" + "k" * 20, int(time.time()), body)
    assert verified("whsec_" + "k" * 20, header, body)  # type: ignore[operator]
    assert not verified("whsec_" + "x" * 20, header, body)  # type: ignore[operator]
    assert not verified("whsec_" + "k" * 20, header, body + b" ")  # type: ignore[operator]
