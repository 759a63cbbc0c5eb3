"""``safecredit registry|ledger checkpoint`` and ``verify --checkpoint``: exit 0 on an intact
chain, 1 naming every problem, never a crash; a checkpoint checks out offline with the public
key alone (Python's cryptography, and openssl)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from registry.evaluate import evaluate
from registry.policy import find_policy
from registry.procedure import propose
from registry.tables import Action, Entry
from service.cli.main import app
from service.engine import ledger
from service.store.db import make_engine, upgrade
from service.store.settings import get_settings
from service.store.tables import Decision
from tests.registry.conftest import D, History

DEPT = "太原市应急管理局"


@pytest.fixture
def engine(tmp_path, monkeypatch):
    """A scratch SQLite store with one registry entry and two decisions."""
    url = f"sqlite:///{tmp_path / 'chain.db'}"
    monkeypatch.setenv("SAFECREDIT_DATABASE_URL", url)
    get_settings.cache_clear()
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s, s.begin():
        h = History(s)
        uscc = h.enterprise()
        pid = h.penalty(uscc, D(2024, 2, 1))
        h.violation(uscc, D(2024, 1, 5), "no_permit", penalty=pid)
        policy = find_policy("mem11")
        (p,) = evaluate(s, policy=policy, as_of=D(2024, 2, 2), usccs=[uscc])
        propose(s, proposal=p, policy=policy, actor="r", department=DEPT, on=D(2024, 2, 2))
    with Session(engine) as s:
        for i in range(2):
            ledger.append(
                s,
                ledger.decision(kind="check", inputs={"i": i}, versions={}, output={}, reasons=[]),
            )
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def _run(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("chain", ["registry", "ledger"])
def test_checkpoint_then_verify_with_it(engine, tmp_path, chain):
    out = tmp_path / f"{chain}.json"
    made = _run(chain, "checkpoint", "--out", str(out))
    assert made.exit_code == 0, made.output
    document = json.loads(out.read_text())
    assert document["chain"] == chain and document["length"] >= 1
    assert json.loads(_run(chain, "checkpoint").stdout) | {"at": 0, "signature": 0} == (
        document | {"at": 0, "signature": 0}
    )
    ok = _run(chain, "verify", "--checkpoint", str(out))
    assert ok.exit_code == 0 and ": ok" in ok.stdout, ok.output
    table = Action if chain == "registry" else Decision
    with Session(engine) as s, s.begin():  # the last row cut, and the head "fixed"
        last = s.scalars(select(table).order_by(table.chain_seq.desc())).first()
        s.execute(delete(table).where(table.chain_seq == last.chain_seq))
        if chain == "registry":
            s.execute(update(Entry).values(version=0))
        s.execute(
            text(f"UPDATE {chain}_chain SET length = length - 1, head_hash = :h"),
            {"h": last.prev_hash},
        )
    cut = _run(chain, "verify", "--checkpoint", str(out))
    assert cut.exit_code == 1
    assert ": signature: " in cut.stderr and ": truncated: " in cut.stderr
    assert f"chain_seq {last.chain_seq} (checkpoint {out})" in cut.stderr
    refused = _run(chain, "checkpoint")
    assert refused.exit_code == 1 and "no checkpoint written" in refused.stderr


def test_bad_checkpoint_files_are_named_not_a_crash(engine, tmp_path):
    missing, garbage = tmp_path / "missing.json", tmp_path / "garbage.json"
    garbage.write_text("{not json")
    good = tmp_path / "good.json"
    _run("ledger", "checkpoint", "--out", str(good))
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**json.loads(good.read_text()), "length": 1_000}))
    result = _run(
        "ledger", "verify", *(f"--checkpoint={p}" for p in (missing, garbage, good, forged))
    )
    assert result.exit_code == 1
    for path in (missing, garbage):
        assert f"checkpoint {path}: unreadable" in result.stderr
        assert f"(checkpoint {path}): checkpoint: not a checkpoint" in result.stderr
    assert f"(checkpoint {forged}): checkpoint: its signature fails" in result.stderr
    assert str(good) not in result.stderr


def test_a_checkpoint_checks_out_offline_with_the_public_key(engine, tmp_path):
    out = tmp_path / "cp.json"
    _run("registry", "checkpoint", "--out", str(out))
    document = json.loads(out.read_text())
    pem = _run("ledger", "public-key").stdout
    assert pem == document["public_key"] and pem.startswith("-----BEGIN PUBLIC KEY-----")
    # what the README tells another party to run: the signed bytes are the checkpoint's other
    # fields as compact JSON with sorted keys
    signed = {k: v for k, v in document.items() if k not in ("public_key", "signature")}
    message = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    load_pem_public_key(pem.encode()).verify(  # raises InvalidSignature if altered
        base64.b64decode(document["signature"]), message.encode()
    )
    if shutil.which("openssl") is None:
        pytest.skip("no openssl on this machine")
    (tmp_path / "pub.pem").write_text(pem)
    (tmp_path / "msg").write_bytes(message.encode())
    (tmp_path / "sig").write_bytes(base64.b64decode(document["signature"]))
    verified = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "pub.pem",
            "-rawin",
            "-in",
            "msg",
            "-sigfile",
            "sig",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 0 and "Verified Successfully" in verified.stdout
