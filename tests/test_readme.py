"""The examples in README.md and docs/ run as written, and their links lead somewhere.

A reader copies the README's blocks into a terminal or a Python prompt, in order, from the
repository's root; this test does the same, in a fresh folder holding copies of the inputs the
examples read (:data:`INPUTS`), so the repository's own tree is never written to.

- Every fenced block is either run or listed in :data:`NOT_RUN` with the reason. A new block is
  therefore run without anyone remembering to add it, and one that cannot run fails until it is
  fixed or listed.
- A ``sh`` block is run command by command, with the environment its ``export`` lines build.
  A command ending in ``&`` (a server that holds its terminal: ``sandbox``, ``receive``) is
  started in the background and waited for until it prints ``press Ctrl-C``; the ports it is
  given with ``--port`` are replaced everywhere in the file by free ones. An ``export`` value
  written as ``...`` is taken from the ``export`` lines the last background server printed (the
  sandbox prints its URL and credentials that way). ``kill %N`` stops background job N, which
  must then exit 0. Every other command must exit 0 without a traceback.
- Consecutive ``python`` blocks are one Python session, run as one script (a reader keeps one
  prompt open for them).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
#: What the examples read, copied into the folder they run in.
INPUTS = ("data", "examples")
#: Languages that are run; any other fenced block must be listed in NOT_RUN.
RUN_LANGUAGES = {"python", "sh"}
#: Seconds one command or one Python session may take before the test fails.
COMMAND_TIMEOUT = 120

#: (file relative to the root, a text the block contains) -> why the block is not run.
NOT_RUN = {
    ("README.md", "make test"):
        "`make test` runs this test among all the others; `make demo` runs `recording-toolkit"
        " demo` with its defaults, which the command-line tour runs with fewer recordings",
    ("docs/loading.md", "tcp://scheduler.internal:8786"):
        "needs a Dask cluster and an S3 bucket; the Dask engine is tested in tests/test_load_dask.py",
    ("docs/notebooks.md", "make lab"): "starts JupyterLab and holds the terminal until stopped",
    ("docs/backfill.md", "[--since 2026-11-01]"):
        "a synopsis: the brackets mark optional flags; `backfill` runs in the README's tour",
    ("docs/backfill.md", "missing_recordings("):
        "needs the account (or the sandbox) that started the journal's recordings;"
        " tests/test_backfill.py runs it against a sandbox",
    ("docs/soak.md", "make soak"):
        "takes minutes; its short form runs in tests/test_soak.py",
    ("docs/performance.md", "make bench"):
        "takes minutes; tests/test_bench_run_all.py runs the benchmarks' smoke form",
    ("README.md", "PLIVO_AUTH_ID=MA... PLIVO_AUTH_TOKEN=..."):
        "needs a real Plivo account, a public URL and a live conference; the same commands run"
        " against the sandbox in the block before it and in tests/test_doctor.py",
    ("docs/deploy.md", "server_name callbacks.example.com"):
        "an nginx configuration: needs nginx, a domain and its certificate",
    ("docs/deploy.md", "export PLIVO_AUTH_TOKEN=...   # the account's"):
        "needs the account's token and a proxy in front; holds its terminal until stopped",
    ("docs/deploy.md", "trycloudflare.com"):
        "needs a tunnel's public URL; holds its terminal until stopped",
    ("docs/deploy.md", "[Service]"):
        "a systemd unit file, installed as root",
    ("docs/deploy.md", "systemctl"):
        "needs root and systemd",
    ("docs/deploy.md", "PLIVO_AUTH_ID=MA..."):
        "needs a real Plivo account and a public URL; tests/test_doctor.py runs doctor against"
        " the sandbox behind a local reverse proxy",
}


# --- reading markdown ------------------------------------------------------------------------

@dataclass
class Block:
    """A fenced code block: its language (the info string's first word), its text, and the line
    of its opening fence."""

    path: Path
    language: str
    text: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")


def split_markdown(text: str, path: Path) -> tuple[list[Block], str]:
    """The fenced code blocks of a CommonMark document, and its prose (the rest, with code
    blocks blanked so that the line count stays the same)."""
    blocks: list[Block] = []
    prose: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match or (match.group(2)[0] == "`" and "`" in match.group(3)):
            prose.append(lines[i])
            i += 1
            continue
        indent, fence, info = len(match.group(1)), match.group(2), match.group(3).strip()
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        body: list[str] = []
        start = i + 1
        i += 1
        while i < len(lines) and not closing.match(lines[i]):
            body.append(re.sub(rf"^ {{0,{indent}}}", "", lines[i]))
            i += 1
        blocks.append(Block(path, info.split()[0] if info else "", "\n".join(body) + "\n",
                            start))
        prose.extend([""] * (len(body) + 2))
        i += 1
    return blocks, "\n".join(prose)


def blocks_of(path: Path) -> list[Block]:
    return split_markdown(path.read_text("utf-8"), path)[0]


def not_run_reason(block: Block) -> str | None:
    """Why ``block`` is not run, or None when it is run."""
    name = str(block.path.relative_to(ROOT))
    reasons = [why for (file, text), why in NOT_RUN.items()
               if file == name and text in block.text]
    assert len(reasons) <= 1, f"{block.where}: listed in NOT_RUN more than once"
    return reasons[0] if reasons else None


# --- running a file's examples ---------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_free_ports(blocks: list[Block]) -> list[Block]:
    """The blocks with every port a background server is given (``--port N``) replaced by a
    free one, in every place it appears (``--port N``, ``127.0.0.1:N``, ``localhost:N``)."""
    ports: dict[str, str] = {}
    for block in blocks:
        if block.language == "sh":
            for command in commands_of(block.text):
                if words_of(command)[-1:] == ["&"]:
                    for port in re.findall(r"--port[ =](\d+)", command):
                        ports.setdefault(port, str(free_port()))
    if not ports:
        return blocks
    pattern = re.compile(r"(--port[ =]|127\.0\.0\.1:|localhost:)(" + "|".join(ports) + r")\b")
    return [Block(b.path, b.language, pattern.sub(lambda m: m.group(1) + ports[m.group(2)],
                                                  b.text), b.line) for b in blocks]


def commands_of(text: str) -> list[str]:
    """The commands of a shell block: lines joined at a trailing backslash; blank and
    comment-only lines dropped."""
    commands, current = [], ""
    for line in text.splitlines():
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip() and not current.strip().startswith("#"):
            commands.append(current.strip())
        current = ""
    return commands


def words_of(command: str) -> list[str]:
    """A command's words as the shell splits them, comments dropped, ``&`` a word of its own."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


@dataclass
class Job:
    """A server the examples started in the background, with everything it printed."""

    words: list[str]
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def printed(self) -> str:
        return "".join(self.output)


class Session:
    """Runs one file's blocks in order, in ``workdir``, as a reader at a terminal would."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("PLIVO_", "RECORDING_TOOLKIT_"))}
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{self.env.get('PATH', '')}"
        self.env["COLUMNS"] = "100"
        self.jobs: list[Job] = []

    def run(self, blocks: list[Block]) -> None:
        python: list[Block] = []
        for block in blocks:
            if not_run_reason(block) is not None:
                continue
            if block.language == "python":
                python.append(block)
                continue
            self.run_python(python)
            python = []
            for command in commands_of(block.text):
                self.run_command(command, block)
        self.run_python(python)

    def run_python(self, blocks: list[Block]) -> None:
        if not blocks:
            return
        script = "\n".join(block.text for block in blocks)
        where = ", ".join(block.where for block in blocks)
        done = subprocess.run([sys.executable, "-c", script], cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
        assert done.returncode == 0, f"{where}: the Python example failed:\n{done.stderr}"
        assert "Traceback" not in done.stderr, f"{where}: {done.stderr}"
        assert "Warning" not in done.stderr, f"{where}: the example warns:\n{done.stderr}"

    def run_command(self, command: str, block: Block) -> None:
        words = words_of(command)
        if words and words[-1] == "&":
            self.start_job(words[:-1], block)
        elif words[0] == "export":
            self.export(words[1:], block)
        elif words[0] == "kill" and all(w.startswith("%") for w in words[1:]):
            for spec in words[1:]:
                self.stop_job(int(spec[1:]), block)
        else:
            done = subprocess.run(["bash", "-c", command], cwd=self.workdir, env=self.env,
                                  capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
            assert done.returncode == 0 and "Traceback" not in done.stderr, (
                f"{block.where}: `{command}` exited {done.returncode}:\n{done.stderr}"
                f"{self.jobs_output()}")

    def start_job(self, words: list[str], block: Block) -> None:
        process = subprocess.Popen(words, cwd=self.workdir, env=self.env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        job = Job(words, process)
        job.reader = threading.Thread(target=job.pump, daemon=True)
        job.reader.start()
        self.jobs.append(job)
        deadline = time.monotonic() + 30
        while "press Ctrl-C" not in job.printed():
            assert process.poll() is None, (
                f"{block.where}: `{shlex.join(words)}` exited {process.returncode}:\n"
                f"{job.printed()}")
            assert time.monotonic() < deadline, (
                f"{block.where}: `{shlex.join(words)}` did not say it was ready in 30 s:\n"
                f"{job.printed()}")
            time.sleep(0.05)

    def export(self, assignments: list[str], block: Block) -> None:
        printed: dict[str, str] = {}
        if self.jobs:
            printed = dict(re.findall(r"export (\w+)=(\S+)", self.jobs[-1].printed()))
        for assignment in assignments:
            name, _, value = assignment.partition("=")
            if value == "...":
                assert name in printed, (
                    f"{block.where}: {name}=... but no server printed `export {name}=`")
                value = printed[name]
            elif name in printed:
                assert value == printed[name], (
                    f"{block.where}: {name}={value}, but the server printed {printed[name]}")
            self.env[name] = value

    def stop_job(self, number: int, block: Block) -> None:
        assert 1 <= number <= len(self.jobs), f"{block.where}: there is no job %{number}"
        job = self.jobs[number - 1]
        job.process.send_signal(signal.SIGTERM)
        code = job.process.wait(timeout=30)
        assert code == 0, f"{block.where}: `{shlex.join(job.words)}` stopped with {code}:\n" \
                          f"{job.printed()}"

    def jobs_output(self) -> str:
        return "".join(f"\n--- {shlex.join(job.words)}:\n{job.printed()}" for job in self.jobs)

    def close(self) -> None:
        """Stop whatever is still running, whatever happened."""
        for job in self.jobs:
            if job.process.poll() is None:
                job.process.send_signal(signal.SIGTERM)
                try:
                    job.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    job.process.kill()
                    job.process.wait(timeout=10)
            if job.reader is not None:
                job.reader.join(timeout=5)
            if job.process.stdout is not None:
                job.process.stdout.close()


def run_examples(path: Path, workdir: Path) -> set[Path]:
    """Run every block of ``path`` in ``workdir``; return the files the examples wrote."""
    for name in INPUTS:
        shutil.copytree(ROOT / name, workdir / name)
    before = {p for p in workdir.rglob("*") if p.is_file()}
    session = Session(workdir)
    try:
        session.run(with_free_ports(blocks_of(path)))
    finally:
        session.close()
    return {p for p in workdir.rglob("*") if p.is_file()} - before


def not_ignored(paths: set[Path], workdir: Path) -> list[str]:
    """The paths (relative to ``workdir``, as if in the repository's root) git would not
    ignore."""
    relative = sorted(str(p.relative_to(workdir)) for p in paths)
    if not relative:
        return []
    done = subprocess.run(["git", "check-ignore", "--no-index", "--non-matching", "--verbose",
                           "--stdin"], cwd=ROOT, input="\n".join(relative) + "\n",
                          capture_output=True, text=True, timeout=30)
    assert done.returncode in (0, 1), done.stderr
    return [line.split("\t", 1)[1] for line in done.stdout.splitlines() if line.startswith("::")]


# --- the tests -------------------------------------------------------------------------------

def test_every_block_is_run_or_listed_with_a_reason():
    listed = set(NOT_RUN)
    for path in [README, *DOCS]:
        for block in blocks_of(path):
            reason = not_run_reason(block)
            if reason is None:
                assert block.language in RUN_LANGUAGES, (
                    f"{block.where}: a ```{block.language} block is neither run nor listed in"
                    " NOT_RUN with a reason")
            listed -= {key for key in NOT_RUN
                       if key[0] == str(path.relative_to(ROOT)) and key[1] in block.text}
    assert not listed, f"NOT_RUN lists blocks that no longer exist: {sorted(listed)}"


def test_the_markdown_reader_finds_fences_and_their_languages(tmp_path):
    text = ("# t\n```sh\necho 1\n```\n\n~~~~python\nx = '```'\n~~~~\n````\n```\n````\n"
            "text ```not a fence```\n")
    blocks, prose = split_markdown(text, tmp_path / "x.md")
    assert [(b.language, b.text, b.line) for b in blocks] == [
        ("sh", "echo 1\n", 2), ("python", "x = '```'\n", 6), ("", "```\n", 9)]
    assert "echo" not in prose and "text ```not a fence```" in prose


@pytest.mark.slow
def test_the_readme_examples_run_as_written_and_leave_only_ignored_files(tmp_path):
    written = run_examples(README, tmp_path)
    names = {str(p.relative_to(tmp_path)) for p in written}
    # What the tours promise to leave behind.
    assert "report.html" in names and "reports/report.html" in names
    assert any(n.startswith("tables/") for n in names)
    assert any(n.startswith("logs/callbacks/callbacks-") for n in names)
    assert not not_ignored(written, tmp_path), (
        f"the README's examples write files git does not ignore: {not_ignored(written, tmp_path)}")


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in DOCS if any(
    not_run_reason(b) is None for b in blocks_of(p))], ids=lambda p: p.name)
def test_the_docs_examples_run_as_written(path, tmp_path):
    run_examples(path, tmp_path)


_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)


def heading_anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a document's headings (lower case, punctuation dropped, spaces
    to hyphens, ``-1``, ``-2`` ... for repeats)."""
    _, prose = split_markdown(path.read_text("utf-8"), path)
    anchors: set[str] = set()
    for heading in re.findall(r"^ {0,3}#{1,6}\s+(.+?)\s*#*\s*$", prose, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchor, n = slug, 0
        while anchor in anchors:
            n += 1
            anchor = f"{slug}-{n}"
        anchors.add(anchor)
    return anchors


def test_the_anchor_rule_matches_githubs(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# A tour of the `CLI`, in short\n## Same\n## Same\n```sh\n# not\n```\n")
    assert heading_anchors(page) == {"a-tour-of-the-cli-in-short", "same", "same-1"}


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_relative_links_resolve(path):
    _, prose = split_markdown(path.read_text("utf-8"), path)
    prose = re.sub(r"(`+).*?\1", "", prose)  # code spans hold no links
    targets = _LINK.findall(prose) + _REFERENCE.findall(prose)
    broken = []
    for target in targets:
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
            continue  # http:, https:, mailto: ...
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        if not resolved.exists():
            broken.append(f"{target} (no {resolved.relative_to(ROOT)})")
        elif anchor and resolved.suffix == ".md" and anchor not in heading_anchors(resolved):
            broken.append(f"{target} (no heading #{anchor} in {resolved.relative_to(ROOT)})")
    assert not broken, f"{path.relative_to(ROOT)}: links that lead nowhere: {broken}"


def test_the_command_line_page_names_every_option_of_every_command():
    from recording_toolkit.cli import build_parser

    page = (ROOT / "docs" / "cli.md").read_text("utf-8")
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    missing = [f"{name} {option}"
               for name, command in commands.items()
               for action in command._actions
               for option in action.option_strings
               if option.startswith("--") and option != "--help"
               and not re.search(rf"`{re.escape(option)}(?![\w-])", page)]
    missing += [f"## {name}" for name in commands if f"`{name}`" not in page]
    assert not missing, f"docs/cli.md does not describe: {missing}"
