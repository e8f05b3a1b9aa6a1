"""The code blocks of README.md and docs/*.md run as a newcomer would run them.

Sybil finds the blocks: every ```sh block runs in bash (``-e``: a failing command fails the test) and every
```python block in one namespace per document, both in a working folder laid out like a clone after
``./dev run`` (``scenarios/``, ``fleets/``, ``fmus/BatteryTwin.fmu``, ``battery_fmu/``), one folder per
document, blocks in document order.
A block that cannot run here (an install, a server, a simulator, a benchmark that takes minutes) carries
``<!-- skip: next "why" -->`` in the markdown, and shows as skipped with that reason.

Long runs are shortened unless ``EVTWIN_DOCS_SHORT=0``: ``evtwin run`` of a scenario longer than a day gets
``--duration "1 d"``, ``evtwin experiment charging`` runs ``--duration "1 d"`` (in place of ``--short``, its
own ``--duration`` or the full length), and ``evtwin life --years N`` runs at most 2 years. Nothing else is changed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sybil import Document
from sybil.parsers.markdown import CodeBlockParser, SkipParser

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHORT = os.environ.get("EVTWIN_DOCS_SHORT", "1") != "0"
DAY = 86400.0

_workspaces: dict[str, Path] = {}


def _workspace(page: str) -> Path:
    return _workspaces[page]


def run_shell(example) -> None:
    source = "\n".join(shorten(line) for line in example.parsed.splitlines()) if SHORT else example.parsed
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", source], cwd=_workspace(example.path),
                          capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        raise AssertionError(f"exit status {done.returncode} from\n{source}\n--- stdout\n{done.stdout[-3000:]}"
                             f"\n--- stderr\n{done.stderr[-3000:]}")
    if "Traceback (most recent call last)" in done.stderr:
        raise AssertionError(f"a Python traceback from\n{source}\n{done.stderr[-3000:]}")


def run_python(example) -> None:
    here = os.getcwd()
    os.chdir(_workspace(example.path))
    try:
        code = compile(example.parsed, example.path, "exec")
        exec(code, example.namespace)
    finally:
        os.chdir(here)


def shorten(line: str) -> str:
    """``line`` with the long runs cut short (see the module docstring); other lines unchanged."""
    command = re.sub(r"\s+#.*$", "", line)
    if re.search(r"\bevtwin experiment charging \S+", command):
        return re.sub(r'\s--short\b|\s--duration ("[^"]*"|\S+)', "", command) + ' --duration "1 d"'
    if "--duration" in command:
        return command
    run = re.search(r"\bevtwin run (\S+)", command)
    if run and _scenario_seconds(run.group(1)) > DAY:
        return command.replace(run.group(0), f'{run.group(0)} --duration "1 d"')
    years = re.search(r"(\bevtwin life\b.*--years )(\S+)", command)
    if years and float(years.group(2)) > 2:
        return command.replace(years.group(0), years.group(1) + "2")
    return command


def _scenario_seconds(name: str) -> float:
    """The duration a scenario file asks for, in s (0 when it is not a file here)."""
    from ruamel.yaml import YAML

    from cosim.scenario.model import to_unit

    path = ROOT / name
    if not path.is_file():
        return 0.0
    spec = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return to_unit((spec.get("experiment") or {}).get("duration", 0), "s")


PARSERS = [SkipParser(), CodeBlockParser("sh", run_shell), CodeBlockParser("python", run_python)]
DOCUMENTS = {str(page): Document.parse(str(page), *PARSERS) for page in PAGES}
EXAMPLES = [(page, example) for page, document in DOCUMENTS.items() for example in document]


@pytest.fixture
def workspace(tmp_path_factory, battery_fmu):
    def make(page: str) -> Path:
        if page not in _workspaces:
            folder = tmp_path_factory.mktemp(Path(page).stem)
            shutil.copytree(ROOT / "scenarios", folder / "scenarios",
                            ignore=shutil.ignore_patterns("__pycache__", "*.py"))
            (folder / "battery_fmu").symlink_to(ROOT / "battery_fmu")  # read only: the shipped parameter sets
            shutil.copytree(ROOT / "fleets", folder / "fleets")
            (folder / "fmus").mkdir()
            shutil.copy(battery_fmu, folder / "fmus" / "BatteryTwin.fmu")
            _workspaces[page] = folder
        return _workspaces[page]

    return make


@pytest.mark.slow
@pytest.mark.parametrize(
    ("page", "example"), EXAMPLES, ids=[f"{Path(p).relative_to(ROOT)}:{e.line}" for p, e in EXAMPLES]
)
def test_doc_block(page, example, workspace):
    workspace(page)
    example.evaluate()


def test_every_block_is_of_a_known_language():
    # A language typo (```shell, ```py) would hide a block from the runs above. Diagrams (mermaid),
    # folder listings (text) and sample records (json) are shown, not run.
    languages = re.compile(r"^```(\w+)", re.MULTILINE)
    for page in PAGES:
        for language in languages.findall(page.read_text(encoding="utf-8")):
            assert language in ("sh", "python", "yaml", "mermaid", "text", "json"), (
                f"{page.name}: a ```{language} block is neither run nor known")


def test_shortening_touches_only_long_runs():
    assert shorten('evtwin run scenarios/quickstart.yaml --duration "2 h" -o short.h5') == (
        'evtwin run scenarios/quickstart.yaml --duration "2 h" -o short.h5')
    assert shorten("evtwin run scenarios/quickstart.yaml") == "evtwin run scenarios/quickstart.yaml"
    assert shorten("evtwin run scenarios/commute_10y_miami.yaml   # ten years") == (
        'evtwin run scenarios/commute_10y_miami.yaml --duration "1 d"')
    assert shorten("evtwin experiment charging x.yaml --short   # a week") == (
        'evtwin experiment charging x.yaml --duration "1 d"')
    assert shorten('evtwin experiment charging x.yaml --duration "30 d" --json -j 2') == (
        'evtwin experiment charging x.yaml --json -j 2 --duration "1 d"')
    assert shorten("evtwin life personal_ev_smallbatt_week --years 10 --json") == (
        "evtwin life personal_ev_smallbatt_week --years 2 --json")


def _transcript_after(text: str, anchor: str) -> list[str]:
    start = text.index("```\n", text.index(anchor)) + len("```\n")
    return text[start:text.index("```", start)].strip().splitlines()


@pytest.mark.parametrize("anchor, edits", [
    ("With `evry:` for `every:`", {"    every: {drive: 10}": "    evry: {drive: 10}"}),
    ("With the structure right", {
        "{from: battery.SOC, to: charger.SOC, delay: 1}": "{from: battery.T_cell, to: charger.SOC, delay: 1}",
        "{from: battery.V_terminal, to: charger.V_terminal, delay: 1}":
            "{from: battery.V_terminal, to: charger.V_terminal}",
    }),
    ("Then the values:", {
        "      SOC_init: 0.8": "      SOC_init: 1.5",
        "power_limit: 7.4 kW": "power_limit: -7.4 kW",
        "drive: {step: 1 s}": "drive: {step: 1 us}",
    }),
])
def test_the_validate_transcripts_of_scenarios_md_are_what_validate_prints(tmp_path, battery_fmu, anchor, edits):
    text = (ROOT / "scenarios" / "quickstart.yaml").read_text(encoding="utf-8")
    text = text.replace("fmu: ../fmus/BatteryTwin.fmu", f"fmu: {battery_fmu}")
    for old, new in edits.items():
        assert old in text
        text = text.replace(old, new)
    (tmp_path / "quickstart.yaml").write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "cosim.cli", "validate", "quickstart.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    printed = [line.strip().removeprefix("- ") for line in done.stderr.splitlines()
               if re.search(r"quickstart\.yaml:\d", line)]
    docs = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    assert printed == _transcript_after(docs, anchor)
