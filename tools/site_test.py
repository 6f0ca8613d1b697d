"""`make site-test`: the built site (make build) in a real browser, headless Chromium, offline.

    python -m tools.site_test [--site _site] [--shots build/screenshots]

Serves the site on 127.0.0.1, opens the English and Korean home pages and a notebook page in each, and checks:
the language switcher links each page to the same page in the other language (and that page exists); the notebook
page shows a figure and a formula rendered by MathJax; the Korean page is in Korean; no request leaves the machine
(Chromium's network log lists every URL it asked for; outside addresses are also blocked, so a leak fails rather
than hangs). Screenshots of every page go to build/screenshots. Needs the Debian packages chromium and
fonts-noto-cjk (.ci/run installs them).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlparse

from tools.course import ROOT


PAGES = [  # (page, what it must show)
    ("en/index.html", []),
    ("ko/index.html", ["korean"]),
    ("en/chapter3/attention.html", ["figure", "formula"]),
    ("ko/chapter3/attention.html", ["figure", "formula", "korean"]),
]
OTHER = {"en": "ko", "ko": "en"}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--hide-scrollbars",
                  "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    raise SystemExit("no Chromium found: install the Debian packages chromium and fonts-noto-cjk "
                     "(sudo apt-get install chromium fonts-noto-cjk)")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def visit(url: str, shot: Path, profile: Path, netlog: Path) -> str:
    """The page's DOM after its scripts ran (MathJax included), a screenshot, and the network log on disk."""
    common = CHROMIUM_FLAGS + [f"--user-data-dir={profile}", "--virtual-time-budget=10000",
                               "--window-size=1280,5000", f"--log-net-log={netlog}"]
    dom = subprocess.run([chromium(), *common, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    if dom.returncode != 0:
        raise RuntimeError(f"Chromium failed on {url}: {dom.stderr[-2000:]}")
    subprocess.run([chromium(), *common, f"--screenshot={shot}", url], capture_output=True, timeout=120, check=True)
    return dom.stdout


def page_requests(netlog: Path) -> list[str]:
    """The URLs the page asked for, from Chromium's network log: requests made for the page carry its site in
    their network isolation key. (Chromium's own background requests, such as update checks, carry another key or
    none; the resolver rules block them anyway, and they are not the site's.)"""
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        if event["type"] == start_job and "url" in params:
            if str(params.get("network_isolation_key", "")).startswith("http://127.0.0.1"):
                urls.append(params["url"])
    return urls


def check_page(page: str, dom: str, site: Path, needs: list[str]) -> list[str]:
    problems = []
    lang = page.split("/")[0]
    other = OTHER[lang]
    links = re.findall(r'<a class="course-language"[^>]*hreflang="' + other + r'"[^>]*href="([^"]+)"', dom)
    if not links:
        problems.append(f"{page}: no language switcher link to {other}")
    else:
        expected = page.replace(f"{lang}/", f"{other}/", 1)
        normal = posixpath.normpath(posixpath.join(posixpath.dirname(page), links[0]))
        if normal != expected or not (site / expected).exists():
            problems.append(f"{page}: the switcher leads to {normal}, expected {expected} (which must exist)")
    if "figure" in needs and not re.search(r'<img[^>]+src="[^"]*_images/[^"]+\.png"', dom):
        problems.append(f"{page}: no figure (an <img> from the notebook's outputs)")
    if "formula" in needs and "<mjx-container" not in dom:
        problems.append(f"{page}: no formula rendered by MathJax (<mjx-container>)")
    if "korean" in needs and not re.search(r"[\uac00-\ud7a3]{2,}", re.sub(r"<[^>]+>", " ", dom)):
        problems.append(f"{page}: no Korean text")
    return problems


def run(site: Path, shots: Path) -> list[str]:
    if not (site / "index.html").exists():
        return [f"{site} has no site: run `make build` first"]
    shots.mkdir(parents=True, exist_ok=True)
    server, base = serve(site)
    problems, outside = [], set()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i, (page, needs) in enumerate(PAGES):
                profile, netlog = Path(tmp) / f"profile{i}", Path(tmp) / f"net{i}.json"
                dom = visit(base + page, shots / (page.replace("/", "_").removesuffix(".html") + ".png"),
                            profile, netlog)
                found = check_page(page, dom, site, needs)
                urls = page_requests(netlog)
                if not urls:
                    found.append(f"{page}: the network log shows no request for the page: the check cannot work")
                away = {u for u in urls if urlparse(u).hostname not in ("127.0.0.1", "localhost")}
                outside |= away
                print(f"{page}: {len(urls)} requests, {len(away)} outside; {'ok' if not found else 'PROBLEMS'}")
                problems += found
    finally:
        server.shutdown()
    problems += [f"a request left the machine: {u}" for u in sorted(outside)]
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_site")
    parser.add_argument("--shots", type=Path, default=ROOT / "build" / "screenshots")
    args = parser.parse_args(argv)
    problems = run(args.site, args.shots)
    print("\n".join(problems) or f"the site passes in Chromium; screenshots in {args.shots}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
