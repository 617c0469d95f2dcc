#!/usr/bin/env python3
"""Drives one headless Chromium for the shell tests, Python's standard library only.

Chromium runs with --remote-debugging-pipe: Chrome DevTools Protocol messages,
JSON terminated by a NUL byte, go in on its file descriptor 3 and come out on
its file descriptor 4. The driver opens one tab and answers commands on stdin,
one per line, with one line on stdout: `ok JSON` (compact) or `error: WHAT`.
The first line, before any command, greets: `ok "Chrome/VERSION"`.

  open URL          navigate the tab to URL, wait until the document is loaded
  eval EXPR         the value of JavaScript expression EXPR in the page
  wait SECONDS EXPR poll EXPR every 100 ms until it is truthy; its value, or
                    an error naming EXPR and what the page shows
  errors            JavaScript exceptions the page raised so far (a list)
  screenshot PATH   a PNG of the page (1000x720 CSS pixels) written to PATH
  quit              (so does the end of stdin)

EXPR may use these helpers: text(id) the trimmed text of element id (null if
there is none), num(id) that text as a number (thousands separators removed),
shown(id) whether the element is visible, rows() the table rows
tr[data-partition] (an Array of elements), cells(tr) their trimmed cell texts.

Chromium runs in a process group of its own that is killed on every exit;
--deadline bounds the driver's whole life. CHROMIUM names the browser binary
(default: chromium).
"""

import argparse
import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HELPERS = """
const text = (id) => { const e = document.getElementById(id); return e ? e.textContent.trim() : null; };
const num = (id) => { const t = text(id); return t === null ? NaN : Number(t.replace(/,/g, "")); };
const shown = (id) => { const e = document.getElementById(id); return !!e && !e.hidden && e.offsetParent !== null; };
const rows = () => Array.from(document.querySelectorAll("tr[data-partition]"));
const cells = (tr) => Array.from(tr.cells, (c) => c.textContent.trim());
"""


class Failure(Exception):
    pass


class Browser:
    def __init__(self):
        self.binary = binary = os.environ.get("CHROMIUM", "chromium")
        if not shutil.which(binary):
            raise Failure(f"{binary} not found (scripts/deps.sh installs Debian's chromium)")
        self.profile = tempfile.mkdtemp(prefix="goka-chromium-")
        self.log_path = os.path.join(self.profile, "chromium.log")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def child_fds():  # in the child: its fd 3 reads commands, its fd 4 writes answers
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-default-apps", "--disable-extensions", "--disable-sync",
                "--no-first-run", "--no-default-browser-check", "--mute-audio",
                "--password-store=basic", "--use-mock-keychain",
                f"--user-data-dir={self.profile}", "--remote-debugging-pipe", "about:blank"]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                            close_fds=False, preexec_fn=child_fds,
                                            start_new_session=True)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.exceptions = []
        self.session = None

    def close(self):
        # The whole group: the browser and its renderer, GPU and zygote processes,
        # before the browser is reaped, while its id still names the group.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        for fd in (self.to_chrome, self.from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            return " | ".join(lines[-5:])
        except OSError:
            return ""

    def _message(self, until):
        """The next message from Chromium, or None once `until` has passed."""
        while b"\0" not in self.buffer:
            left = until - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.from_chrome], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.from_chrome, 1 << 16)
            if not chunk:
                raise Failure(f"{self.binary} exited (status {self.process.wait()}): {self.log_tail()}")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def _event(self, message):
        if message.get("method") == "Runtime.exceptionThrown":
            details = message["params"]["exceptionDetails"]
            exception = details.get("exception", {})
            self.exceptions.append(exception.get("description") or details.get("text"))

    def call(self, method, params=None, timeout=10, session=True):
        self.next_id += 1
        request = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            request["sessionId"] = self.session
        data = json.dumps(request).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self.to_chrome, data):]
        except BrokenPipeError:
            raise Failure(f"{self.binary} exited (status {self.process.wait()}): {self.log_tail()}")
        until = time.monotonic() + timeout
        while True:
            message = self._message(until)
            if message is None:
                raise Failure(f"chromium did not answer {method} within {timeout} s")
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise Failure(f"{method}: {message['error'].get('message')}")
                return message.get("result", {})
            self._event(message)

    def start(self):
        target = self.call("Target.createTarget", {"url": "about:blank"}, timeout=30)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        self.call("Runtime.enable")
        self.call("Page.enable")

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", {
            "expression": "(() => {" + HELPERS + "return (" + expression + "\n);})()",
            "returnByValue": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            what = details.get("exception", {}).get("description") or details.get("text")
            raise Failure(f"{expression}: {what}")
        return result["result"].get("value")

    def shows(self):
        try:
            return " ".join(str(self.evaluate("document.body ? document.body.innerText : ''")).split())[:600]
        except Failure as e:
            return f"(cannot read the page: {e})"

    def open(self, url):
        result = self.call("Page.navigate", {"url": url}, timeout=20)
        if result.get("errorText"):
            raise Failure(f"cannot open {url}: {result['errorText']}")
        self.wait(20, f"location.href === new URL({json.dumps(url)}).href && "
                      "document.readyState === 'complete'")
        return self.evaluate("document.title")

    def screenshot(self, path):
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1000, "height": 720, "deviceScaleFactor": 1, "mobile": False})
        data = self.call("Page.captureScreenshot", {"format": "png"}, timeout=20)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def wait(self, seconds, expression):
        until = time.monotonic() + seconds
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() >= until:
                raise Failure(f"timed out after {seconds:g} s waiting for: {expression}; "
                              f"the page shows: {self.shows()}")
            # Sleep while taking events (exceptions) off the pipe.
            pause = time.monotonic() + 0.1
            while (message := self._message(pause)) is not None:
                self._event(message)


def serve(browser, commands, answers):
    for line in commands:
        verb, _, rest = line.strip().partition(" ")
        if not verb:
            continue
        try:
            if verb == "open":
                value = browser.open(rest)
            elif verb == "eval":
                value = browser.evaluate(rest)
            elif verb == "wait":
                seconds, _, expression = rest.partition(" ")
                value = browser.wait(float(seconds), expression)
            elif verb == "screenshot":
                value = browser.screenshot(rest)
            elif verb == "errors":
                value = browser.exceptions
            elif verb == "quit":
                answers.write("ok null\n")
                answers.flush()
                return
            else:
                raise Failure(f"unknown command {verb!r}")
            answers.write("ok " + json.dumps(value, separators=(",", ":")) + "\n")
        except Failure as e:
            answers.write("error: " + " ".join(str(e).split()) + "\n")
        answers.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deadline", type=float, default=120,
                        help="seconds the driver may live at most (default 120)")
    deadline = parser.parse_args().deadline

    def give_up(*_):
        print(f"monitor_page.py: gave up after --deadline {deadline:g} s", file=sys.stderr)
        sys.exit(1)

    # SIGTERM and SIGHUP end like the end of stdin, and so does the deadline:
    # Chromium is killed on the way out.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(1))
    signal.signal(signal.SIGALRM, give_up)
    signal.setitimer(signal.ITIMER_REAL, deadline)
    browser = None
    try:
        browser = Browser()
        browser.start()
        print("ok " + json.dumps(browser.call("Browser.getVersion", session=False)["product"]),
              flush=True)
        serve(browser, sys.stdin, sys.stdout)
    except Failure as e:
        print("error: " + " ".join(str(e).split()), flush=True)
        print(f"monitor_page.py: {e}", file=sys.stderr)
        return 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        if browser:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
