"""``python -m simweb --out DIR [--seed N]``: build the world, serve it until told to stop.

Writes ``DIR/sites.csv`` (the project's registry format) and ``DIR/truth.json``
(every report's numbers, faults and expected findings, with its URL), then prints
one line ``READY {json}`` on stdout so that a parent process knows the sites are
listening. SIGTERM or SIGINT stops the servers and exits 0. With ``--extra pingtan`` it also
writes ``DIR/columns.txt``, the replica's column URLs as ``nianbao discover --file`` takes
them, and READY's ``resolve`` pins www.pingtan.gov.cn to the replica's address.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import signal
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

from archive.store.registry import CRAWL_COLUMNS
from simweb import patterns, pingtan
from simweb.deadhosts import KINDS as DEAD_KINDS
from simweb.deadhosts import DeadHost, dead_hosts
from simweb.hostile import EXTRA_SITES, SCOPE_NAMES, hostile_sites, scale_sites
from simweb.national import national_sites, truth_records
from simweb.render import render_text_pdf
from simweb.server import bind, serve
from simweb.sites import CORPUS, Site, World, build_world

# A port placeholder in a page: ``{secret}`` is the port of the site keyed ``secret``.
_PLACEHOLDER = re.compile(rb"\{(\w+)\}")


def _write(path: Path, text: str) -> None:
    """Write whole or not at all: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def registry_csv(
    world: World, bases: dict[str, str], extra: list[Site] = (), dead: list[DeadHost] = ()
) -> str:
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CRAWL_COLUMNS)
    for row in dead:
        writer.writerow(
            [row.site_id, row.name, "410000", "河南省", "county", row.start_url, row.host, ""]
        )
    netlocs = {site_id: urlsplit(base).netloc for site_id, base in bases.items()}
    for site in [*world.sites, *(s for s in extra if not s.behaviour.get("unlisted"))]:
        base = bases[site.site_id]
        if site.key == "pingtan":  # one host, eight columns: a row each
            writer.writerows(pingtan.registry_rows(site, base))
            continue
        if scheme := site.behaviour.get("registry_scheme"):  # as a user would type it
            base = scheme + base[base.index(":") :]
        writer.writerow(
            [
                site.site_id,
                site.name,
                site.region_code,
                site.region,
                site.level,
                base + site.start_path.lstrip("/"),
                allowed_domains(site, netlocs),
                site.cms,
            ]
        )
    return out.getvalue()


def _fill_ports(extra: list[Site], servers: list) -> None:
    """Redirects, links and registry names of the scope sites name the ports their
    targets got (``{secret}``: the port of the site keyed ``secret``)."""
    ports = {site.key: str(srv.server_address[1]) for site, srv in zip(extra, servers, strict=True)}

    def filled(match: re.Match) -> bytes:
        return ports.get(match.group(1).decode(), match.group(0)).encode()

    for site in extra:
        targets = site.behaviour.get("redirects")
        if targets:
            site.behaviour["redirects"] = {
                path: url.format(**ports) for path, url in targets.items()
            }
            for page in site.pages.values():
                page.body = _PLACEHOLDER.sub(filled, page.body)
        if site.behaviour.get("domains"):
            site.behaviour["domains"] = [d.format(**ports) for d in site.behaviour["domains"]]


def allowed_domains(site: Site, netlocs: dict[str, str]) -> str:
    """The row's ``allowed_domains``: the site's own address (with its port, for a site
    that names it), and what its behaviour needs (a loopback address is reached only when
    the row names it: crawler/middlewares/scope.py).

    A site that moves names its new home as a network with its port
    (``127.0.0.19/32:PORT``): the address may be reached, but the host is not in the
    site's scope until the start page moves there.
    """
    own = netlocs[site.site_id] if site.behaviour.get("name_port") else site.ip
    tokens = [own, *site.behaviour.get("domains", ())]
    if site.behaviour.get("moved_to"):
        home = netlocs[site.behaviour["moved_to"]]
        address, _, port = home.rpartition(":")
        tokens.append(f"{address}/32:{port}")
    return " ".join(tokens)


def truth_json(world: World, bases: dict[str, str]) -> dict:
    reports = []
    for site, item in world.reports:
        record = item.truth.to_json()
        record["url"] = bases[site.site_id] + item.path.lstrip("/")
        if item.attachment:
            record["attachment_url"] = bases[site.site_id] + item.attachment.lstrip("/")
        # The primary original: the PDF of a PDF-only report, else the article page.
        record["source"] = record["attachment_url"] if record["format"] == "pdf" else record["url"]
        reports.append(record)
    return {
        "seed": world.seed,
        "sites": [
            {
                "site_id": s.site_id,
                "agency": s.name,
                "base_url": bases[s.site_id],
                "charset": s.charset,
                "cms": s.cms,
            }
            for s in world.sites
        ],
        "reports": reports,
        "non_reports": [bases[s.site_id] + path.lstrip("/") for s, path in world.non_reports],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simweb", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", required=True, type=Path, help="directory for sites.csv, truth.json"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="port of every site (each has its own address); 0 = any free port",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=CORPUS,
        help="real documents to serve among the generated ones",
    )
    parser.add_argument(
        "--log-requests",
        action="store_true",
        help="log every request to stderr, one JSON line each",
    )
    parser.add_argument(
        "--extra",
        default="",
        help="comma-separated sites to add: misbehaving ones "
        f"({','.join(EXTRA_SITES)}), listing patterns ({','.join(patterns.PATTERN_SITES)}) "
        "and pingtan (real columns of www.pingtan.gov.cn, from the material in $NIANBAO_SHARED)",
    )
    parser.add_argument(
        "--edition",
        type=int,
        default=1,
        help="the night the sites are seen on (2: the nightly site changed)",
    )
    parser.add_argument(
        "--scale", type=int, default=0, help="add this many small sites (throughput measurements)"
    )
    parser.add_argument(
        "--no-default", action="store_true", help="serve only the --extra and --scale sites"
    )
    parser.add_argument(
        "--national",
        type=int,
        default=0,
        help="add this many county portals with real-sized reports (simweb/national.py)",
    )
    parser.add_argument(
        "--cache", type=Path, help="where the national world keeps its PDF and DOCX files"
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds every national page takes"
    )
    parser.add_argument(
        "--dead",
        type=int,
        default=0,
        help="add this many hosts that cannot be crawled (simweb/deadhosts.py)",
    )
    parser.add_argument(
        "--dead-kinds",
        default=",".join(DEAD_KINDS),
        help=f"which kinds of dead host, in turn: {','.join(DEAD_KINDS)}",
    )
    args = parser.parse_args(argv)

    world = build_world(args.seed, args.corpus)
    if args.no_default:
        world = World(world.seed, [], [], [])
    keys = [k for k in args.extra.split(",") if k]
    extra = hostile_sites(
        [k for k in keys if k not in patterns.PATTERN_SITES and k != "pingtan"], args.edition
    )
    extra += [
        site for site, _ in patterns.pattern_sites([k for k in keys if k in patterns.PATTERN_SITES])
    ]
    if "pingtan" in keys:
        try:
            extra.append(pingtan.replica()[0])
        except pingtan.MaterialMissing as exc:
            parser.exit(2, f"simweb: {exc}\n")
    if args.scale:
        extra += scale_sites(args.scale, render_text_pdf("规模测试", ["附件"]))
    dead, listeners, slow = dead_hosts(args.dead, tuple(args.dead_kinds.split(",")))
    extra += slow
    national, plans = national_sites(
        args.national, args.seed, args.edition, args.cache, args.latency
    )
    extra += national
    every = [*world.sites, *extra]
    servers = [
        bind(site, 0 if site.behaviour.get("any_port") else args.port, args.log_requests)
        for site in every
    ]
    # A site with a host name of its own (the pingtan replica) is reached by that name.
    bases = {
        site.site_id: f"{'https' if site.behaviour.get('tls') == 'https-only' else 'http'}://"
        f"{site.behaviour.get('host') or srv.server_address[0]}:{srv.server_address[1]}/"
        for site, srv in zip(every, servers, strict=True)
    }
    named = {site.behaviour["host"]: site.ip for site in extra if site.behaviour.get("host")}
    for site in extra:
        patterns.finish(site, bases[site.site_id])
        if site.key == "pingtan":
            pingtan.finish(site, bases[site.site_id])
    for site in extra:  # a consolidated site redirects to its new host
        if site.behaviour.get("moved_to"):
            site.behaviour["moved_base"] = bases[site.behaviour["moved_to"]]
    _fill_ports(extra, servers[len(world.sites) :])
    args.out.mkdir(parents=True, exist_ok=True)
    sites_csv, truth_path = args.out / "sites.csv", args.out / "truth.json"
    _write(sites_csv, registry_csv(world, bases, extra, dead))
    truth = truth_json(world, bases)
    if plans:
        truth["national"] = truth_records(plans, bases)
    _write(truth_path, json.dumps(truth, ensure_ascii=False, indent=1))
    columns = [
        line
        for site in extra
        if site.key == "pingtan"
        for line in pingtan.column_urls(site, bases[site.site_id])
    ]
    if columns:
        _write(args.out / "columns.txt", "\n".join(columns) + "\n")

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serving = serve(servers)
    ready = {
        "out": str(args.out),
        "sites": bases,
        "sites_csv": str(sites_csv),
        "truth": str(truth_path),
        "pid": os.getpid(),
        # For the crawl: -s NIANBAO_RESOLVE=… (the hostile names resolve without DNS).
        "resolve": " ".join(f"{k}={v}" for k, v in {**SCOPE_NAMES, **named}.items()),
    }
    if columns:
        ready["columns"] = str(args.out / "columns.txt")
    print("READY " + json.dumps(ready, ensure_ascii=False), flush=True)
    while not stop.wait(0.5):
        pass
    serving.stop()
    if len(servers) >= 50:  # thousands of handler threads: no slow interpreter teardown
        sys.stdout.flush()
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
