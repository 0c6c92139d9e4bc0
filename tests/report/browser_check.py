#!/usr/bin/env python3
# browser_check.py - open a report's index.html in headless Chromium as a reader would, and say what
# a reader would find broken: an image that does not load, a link to a missing file or anchor, a
# console error or uncaught exception. Keeps a full-page screenshot (PNG).
#
#   browser_check.py CHROMIUM INDEX.html SCREENSHOT.png
#
# It speaks the DevTools protocol over --remote-debugging-pipe (JSON messages ending in NUL on file
# descriptors 3 and 4), so that Debian's python3 needs no websocket module. Exit status 0 when nothing is
# broken, 1 with one line per problem on stdout, 2 when the browser could not be driven.
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse

TIMEOUT = 60.0  # seconds for the whole check: a report of a small run loads in one or two

# What the page reports of itself once loaded: each <img> with its natural size, each link, each id,
# and every PNG or SVG the page links to loaded as an image too (a broken SVG behind a PNG's link
# would otherwise go unseen).
PROBE = r"""
(async () => {
  const imgs = [...document.images].map(i => ({src: i.getAttribute('src'), url: i.src,
                                              complete: i.complete, w: i.naturalWidth}));
  const links = [...document.querySelectorAll('a[href]')].map(a => ({href: a.getAttribute('href'),
                                                                     url: a.href}));
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  const linked = [...new Set(links.map(l => l.url).filter(u => /\.(png|svg)$/i.test(u)))];
  const loaded = await Promise.all(linked.map(u => new Promise(done => {
    const im = new Image();
    im.onload = () => done({url: u, w: im.naturalWidth});
    im.onerror = () => done({url: u, w: 0});
    im.src = u;
  })));
  return JSON.stringify({imgs, links, ids, loaded, title: document.title,
                         height: document.documentElement.scrollHeight});
})()
"""

# In each linked SVG, the centred texts (titles, tick labels) that reach outside the picture: a title
# wider than its plot is cut off in the PNG (gnuplot lays both out alike), which no load check can see.
# Each SVG is fetched (--allow-file-access-from-files), put inline into the page and measured there.
SVG_PROBE = r"""
(async (urls) => {
  const out = [];
  for (const u of urls) {
    let doc;
    try {
      doc = new DOMParser().parseFromString(await (await fetch(u)).text(), 'image/svg+xml');
    } catch (e) {
      out.push([u, 'cannot fetch: ' + e]);
      continue;
    }
    if (doc.documentElement.localName !== 'svg') {
      out.push([u, 'not an SVG document']);
      continue;
    }
    const svg = document.importNode(doc.documentElement, true);
    const box = document.createElement('div');
    box.style.cssText = 'position:absolute;left:0;top:0';
    box.appendChild(svg);
    document.body.appendChild(box);
    // Measure the text as the PNG draws it: gnuplot writes pngcairo's font names ("sans:Bold") into
    // the SVG, which a browser does not know, and its sizes in px where pngcairo's are points at 96
    // dpi (4/3 px a point: a 100-character bold title is 818 px wide in the PNG, 620 in the SVG).
    for (const g of svg.querySelectorAll('[font-family]')) {
      const f = g.getAttribute('font-family');
      g.setAttribute('font-family', 'DejaVu Sans, sans-serif');
      if (/:bold/i.test(f)) g.setAttribute('font-weight', 'bold');
    }
    for (const g of svg.querySelectorAll('[font-size]'))
      g.setAttribute('font-size', parseFloat(g.getAttribute('font-size')) * 4 / 3);
    const r = svg.getBoundingClientRect();
    // Only centred texts: gnuplot places a left- or right-aligned one (a key entry) from its own
    // estimate of the width, which differs between its PNG and SVG terminals.
    for (const t of svg.querySelectorAll('text')) {
      const anchor = t.closest('[text-anchor]');
      if (!anchor || anchor.getAttribute('text-anchor') !== 'middle') continue;
      const b = t.getBoundingClientRect();
      if (b.width > 0 && (b.left < r.left - 1 || b.right > r.right + 1))
        out.push([u, 'text outside the picture: ' + t.textContent.trim()]);
    }
    box.remove();
  }
  return JSON.stringify(out);
})
"""


class Browser:
    def __init__(self, chromium, profile):
        to_r, self.to_w = os.pipe()   # we write commands, chromium reads fd 3
        self.from_r, from_w = os.pipe()   # chromium writes fd 4, we read
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
                "--remote-debugging-pipe", "--allow-file-access-from-files", "--user-data-dir=" + profile, "--window-size=1280,900"]

        def fds():
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)
        self.proc = subprocess.Popen(args, pass_fds=(3, 4), preexec_fn=fds, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.deadline = time.monotonic() + TIMEOUT

    def _read_message(self):
        while b"\0" not in self.buf:
            if time.monotonic() > self.deadline:
                raise TimeoutError("the browser did not answer in %g s" % TIMEOUT)
            chunk = os.read(self.from_r, 1 << 16)
            if not chunk:
                raise EOFError("the browser closed its pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read_message()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"].get("message")))
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method):
        for i, m in enumerate(self.events):
            if m.get("method") == method:
                return self.events.pop(i)
        while True:
            m = self._read_message()
            if m.get("method") == method:
                return m
            self.events.append(m)

    def close(self):
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def console_problems(events):
    out = []
    for m in events:
        p = m.get("params", {})
        if m.get("method") == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append("console error: " + " ".join(str(a.get("value", a.get("description", "")))
                                                    for a in p.get("args", [])))
        elif m.get("method") == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append("uncaught exception: " + d.get("exception", {}).get("description", d.get("text", "")))
        elif m.get("method") == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            out.append("console error: %s%s" % (e.get("text", ""), " (" + e["url"] + ")" if e.get("url") else ""))
    return out


def link_problems(index, page):
    """Each link and image source must be a file beside the report or an anchor of a page."""
    out = []
    base = os.path.dirname(os.path.abspath(index))
    ids = set(page["ids"])
    for what, ref in [("link", l["href"]) for l in page["links"]] + [("image", i["src"]) for i in page["imgs"]]:
        u = urllib.parse.urlsplit(ref)
        if u.scheme in ("http", "https", "mailto"):
            continue  # nothing to reach offline; a report has none today
        if u.scheme or u.netloc:
            out.append("%s '%s': not a relative link (the report must move as one folder)" % (what, ref))
            continue
        path = urllib.parse.unquote(u.path)
        if path and not os.path.isfile(os.path.join(base, path)):
            out.append("%s '%s': no such file" % (what, ref))
        elif u.fragment and not path and urllib.parse.unquote(u.fragment) not in ids:
            out.append("%s '%s': no element with that id" % (what, ref))
        elif u.fragment and path.endswith(".html"):
            text = open(os.path.join(base, path), encoding="utf-8", errors="replace").read()
            if ('id="%s"' % urllib.parse.unquote(u.fragment)) not in text:
                out.append("%s '%s': no element with that id" % (what, ref))
    return out


def svg_problems(b, s, urls):
    expr = SVG_PROBE + "(" + json.dumps(urls) + ")"
    r = b.send("Runtime.evaluate", {"expression": expr, "awaitPromise": True, "returnByValue": True}, session=s)
    if "exceptionDetails" in r:
        raise RuntimeError("the SVG probe failed: %s" % r["exceptionDetails"].get("text"))
    return ["'%s': %s" % ("/".join(u.rsplit("/", 2)[-2:]), what) for u, what in json.loads(r["result"]["value"])]


def check(chromium, index, shot):
    problems = []
    with tempfile.TemporaryDirectory() as profile:
        b = Browser(chromium, profile)
        try:
            target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                b.send(domain + ".enable", session=s)
            b.send("Page.navigate", {"url": "file://" + urllib.parse.quote(os.path.abspath(index))}, session=s)
            b.wait_event("Page.loadEventFired")
            r = b.send("Runtime.evaluate", {"expression": PROBE, "awaitPromise": True, "returnByValue": True},
                       session=s)
            if "exceptionDetails" in r:
                raise RuntimeError("the probe failed: %s" % r["exceptionDetails"].get("text"))
            page = json.loads(r["result"]["value"])
            for i in page["imgs"]:
                if not i["complete"] or i["w"] <= 0:
                    problems.append("image '%s' does not load (naturalWidth %d)" % (i["src"], i["w"]))
            for i in page["loaded"]:
                if i["w"] <= 0:
                    problems.append("linked image '%s' does not load" % i["url"])
            problems += link_problems(index, page)
            height = min(max(int(page["height"]), 900), 16000)
            b.send("Emulation.setDeviceMetricsOverride",
                   {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=s)
            png = b.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=s)
            with open(shot, "wb") as f:
                f.write(base64.b64decode(png["data"]))
            # messages that arrived while the probe ran are in b.events
            problems += console_problems(b.events)
            b.events = []
            problems += svg_problems(b, s, [u["url"] for u in page["loaded"]
                                            if u["w"] > 0 and u["url"].lower().endswith(".svg")])
            problems += console_problems(b.events)
            print("# %s: %d images, %d links, %d linked PNG/SVG, screenshot %s (1280x%d)"
                  % (page["title"], len(page["imgs"]), len(page["links"]), len(page["loaded"]), shot, height))
        finally:
            b.close()
    return problems


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: browser_check.py CHROMIUM INDEX.html SCREENSHOT.png")
    try:
        problems = check(*sys.argv[1:])
    except (OSError, EOFError, TimeoutError, RuntimeError, KeyError, ValueError) as e:
        print("cannot drive the browser: %s" % e)
        sys.exit(2)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
