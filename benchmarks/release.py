"""Release benchmark: whole-file htsget retrieval and a Crypt4GH download beside a plain `cat` of the same file.

Run it from the repository root:

    .venv/bin/python benchmarks/release.py                    # a 256 MB file, 5 runs each
    .venv/bin/python benchmarks/release.py --size-mb 16 --runs 2   # smoke run, seconds

A throw-away data dir and SQLite database are made; the file is random bytes registered as a dataset file
(whole-file retrieval never parses it, and random bytes do not flatter any step). `genomegate serve` runs as
a child process on a free loopback port. Every contender reads the same page-cached file and writes a copy
on the same disk: `cat src > dst`; the `htsget` client (ticket, then the block URL) into dst; an httpx
stream and `curl` of `/api/release/...?encryption=crypt4gh` into dst (curl, the documented client, is the
one held to the target; httpx's Python-side reading is shown beside it). Medians of --runs; the first run of each is
checked (sha256 of the htsget copy, Crypt4GH decryption of the download).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != _HERE]  # benchmarks/beacon.py shadows beacon

__all__ = ["main"]

TARGET_HTSGET = 0.5
TARGET_CRYPT4GH = 0.3
SUBJECT = "bench@example.org"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _payload(path: Path, size_mb: int) -> tuple[int, str, str]:
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with path.open("wb") as out:
        for _ in range(size_mb):
            chunk = os.urandom(1 << 20)
            sha.update(chunk)
            md5.update(chunk)
            out.write(chunk)
    return size_mb << 20, sha.hexdigest(), md5.hexdigest()


def _setup(data_dir: Path, base_url: str, payload: Path, size_mb: int) -> tuple[str, str, str, str, bytes]:
    """Schema, a controlled dataset with the payload as its file, an entitlement and a key: ids and a token."""
    from crypt4gh import sodium
    from sqlmodel import Session

    from access.models import AccessRequest, AccessRequestDataset, Entitlement
    from access.release.keys import register_key
    from access.release.models import ResearcherKeyCreate
    from catalogue.accessions import next_accession
    from catalogue.identity import Caller, Principal
    from catalogue.models import DacCreate, DatasetCreate, DatasetFile, OrganisationCreate, utcnow
    from catalogue.runtime import build_runtime
    from catalogue.services import datasets, registry
    from catalogue.settings import load_settings
    from genomegate.schema import upgrade

    runtime = build_runtime(load_settings(data_dir=data_dir, public_base_url=base_url))
    upgrade(runtime.engine)
    operator = Caller.cli_operator()
    size, sha256, md5 = _payload(payload, size_mb)
    with Session(runtime.engine, expire_on_commit=False) as session:
        org = registry.create_organisation(session, operator, OrganisationCreate(name="Bench lab",
                                                                                 contact_email="lab@example.org"))
        dac = registry.create_dac(session, operator, DacCreate(name="Bench DAC", contact_email="dac@example.org"))
        dataset = datasets.create_dataset(session, operator, DatasetCreate(
            title="Bench cohort", assembly="GRCh38", security="CONTROLLED", organisation_id=org.id, dac_id=dac.id,
            duo=["DUO:0000042"], dua_text="DUA"))
        datasets.publish_dataset(session, operator, dataset.id)
        file = DatasetFile(id=next_accession(session, "GGF"), dataset_id=dataset.id, name="bench.vcf.gz",
                           uri=str(payload), format="vcf", size=size, md5=md5, sha256=sha256)
        request = AccessRequest(id=next_accession(session, "GGR"), applicant=SUBJECT, dac_id=dac.id,
                                state="approved", project_title="Benchmark", purpose=["DUO:0000042"])
        session.add_all([file, request])
        session.flush()
        session.add(AccessRequestDataset(request_id=request.id, dataset_id=dataset.id))
        session.add(Entitlement(subject=SUBJECT, dataset_id=dataset.id, request_id=request.id, start=utcnow(),
                                end=utcnow() + timedelta(days=1), granted_by="dac@example.org"))
        session.commit()
        secret = os.urandom(32)
        public = bytes(sodium.derive_pk(secret))
        import base64
        researcher = Caller(principal=Principal(subject=SUBJECT, issuer=base_url))
        register_key(session, researcher, ResearcherKeyCreate(public_key=base64.b64encode(public).decode()))
    assert runtime.issuer is not None
    token = runtime.issuer.issue(SUBJECT, expires=timedelta(hours=2))
    runtime.engine.dispose()
    return dataset.id, file.id, sha256, token, secret


def _timed(step: Callable[[], None]) -> float:
    os.sync()  # the previous copy's writeback must not be billed to this one
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=256, help="size of the file in MiB (default 256)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each contender; medians are reported")
    parser.add_argument("--workdir", type=Path, default=None, help="where the throw-away files go (default: tmp)")
    args = parser.parse_args(argv)

    import htsget
    import httpx
    from crypt4gh import lib as c4gh_lib

    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="gg-release-bench-") as tmp:
        root = Path(tmp)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        payload, copy = root / "payload.vcf.gz", root / "copy.out"
        dataset_id, file_id, sha256, token, secret = _setup(root / "data", base, payload, args.size_mb)
        env = {**os.environ, "GENOMEGATE_DATA_DIR": str(root / "data"), "GENOMEGATE_PUBLIC_BASE_URL": base,
               "GENOMEGATE_LOG_LEVEL": "WARNING"}
        server = subprocess.Popen([sys.executable, "-m", "genomegate", "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    print("the server did not start", file=sys.stderr)
                    return 2
                time.sleep(0.1)

            def cat() -> None:
                with copy.open("wb") as out:
                    subprocess.run(["cat", str(payload)], stdout=out, check=True)

            def htsget_whole() -> None:
                with copy.open("wb") as out:
                    htsget.get(f"{base}/htsget/variants/{dataset_id}/{file_id}", out, data_format="VCF",
                               bearer_token=token, max_retries=0, timeout=120)

            def crypt4gh_download() -> None:
                with copy.open("wb") as out, httpx.stream(
                        "GET", f"{base}/api/release/{dataset_id}/files/{file_id}", params={"encryption": "crypt4gh"},
                        headers={"Authorization": f"Bearer {token}"}, timeout=120) as response:
                    response.raise_for_status()
                    for chunk in response.iter_raw(1 << 20):
                        out.write(chunk)

            def curl(url: str, headers: dict[str, str]) -> Callable[[], None]:
                flags = [f"-H{k}: {v}" for k, v in headers.items()]
                return lambda: subprocess.run(["curl", "-sSf", "-o", str(copy), *flags, url], check=True)

            ticket = httpx.get(f"{base}/htsget/variants/{dataset_id}/{file_id}",
                               headers={"Authorization": f"Bearer {token}"}).json()["htsget"]["urls"][0]
            curl_block = curl(ticket["url"], ticket["headers"])
            curl_c4gh = curl(f"{base}/api/release/{dataset_id}/files/{file_id}?encryption=crypt4gh",
                             {"Authorization": f"Bearer {token}"})
            cat()  # warm the page cache
            times: dict[str, list[float]] = {"cat": [], "htsget": [], "crypt4gh": [], "curl_block": [],
                                             "curl_c4gh": []}
            for run in range(args.runs):
                times["cat"].append(_timed(cat))
                times["htsget"].append(_timed(htsget_whole))
                if run == 0 and _sha256(copy) != sha256:
                    print("htsget copy differs from the file", file=sys.stderr)
                    return 1
                times["crypt4gh"].append(_timed(crypt4gh_download))
                times["curl_block"].append(_timed(curl_block))
                times["curl_c4gh"].append(_timed(curl_c4gh))
                if run == 0:
                    plain = io.BytesIO()
                    with copy.open("rb") as encrypted:
                        c4gh_lib.decrypt([(0, secret, None)], encrypted, plain)
                    if hashlib.sha256(plain.getbuffer()).hexdigest() != sha256:
                        print("the Crypt4GH download does not decrypt to the file", file=sys.stderr)
                        return 1
        finally:
            server.terminate()
            server.wait(10)

    size_mb = args.size_mb * 1.048576  # MiB -> MB
    speed = {name: size_mb / statistics.median(values) for name, values in times.items()}
    print(f"file: {args.size_mb} MiB, {args.runs} runs, medians (MB/s; copies written to the same disk)")
    print(f"{'contender':<34}{'MB/s':>10}{'ratio to cat':>15}{'target':>9}  verdict")
    print(f"{'cat src > dst':<34}{speed['cat']:>10.0f}{1.0:>15.2f}{'':>9}")
    verdicts = []
    for name, label, target in (("htsget", "htsget client, whole file", TARGET_HTSGET),
                                ("curl_c4gh", "Crypt4GH download (curl)", TARGET_CRYPT4GH)):
        ratio = speed[name] / speed["cat"]
        verdicts.append(ratio >= target)
        print(f"{label:<34}{speed[name]:>10.0f}{ratio:>15.2f}{target:>9.2f}  {'ok' if ratio >= target else 'BELOW'}")
    for name, label in (("curl_block", "curl, the ticket's block URL"), ("crypt4gh", "Crypt4GH download (httpx)")):
        print(f"{label:<34}{speed[name]:>10.0f}{speed[name] / speed['cat']:>15.2f}{'':>9}  (for comparison)")
    print("all runs (s):", {k: [round(v, 3) for v in vs] for k, vs in times.items()})
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
