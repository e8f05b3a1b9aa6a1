"""An FMU that runs its model in this interpreter leaves no module behind when its folder is deleted.

The order that used to fail: a scenario ran the battery FMU in-process (its package
``evtwin_battery_<hash>`` and pythonfmu itself imported from the FMU's extraction folder), the run
ended and deleted the folder, and then building the same FMU again in that process (a later test's
fixture) found the stale package in ``sys.modules`` and failed on its first submodule import. The
same run, in a fresh interpreter so that nothing was imported before: load, step, terminate, then
build the FMU again and run that.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path

    from cosim.fmu.adapter import FMUUnit

    def run_once(path):
        unit = FMUUnit(path, "battery")
        unit.bind(["P_load"], ["SOC"])
        unit.setup(0.0)
        unit.end_initialization()
        unit.set_inputs([10e3])
        unit.do_step(0.0, 1.0)
        soc = unit.get_outputs()[0]
        folder = unit._unzipdir
        unit.terminate()
        return soc, folder

    soc, folder = run_once(Path(sys.argv[1]))
    assert not Path(folder).exists()
    stale = [name for name, m in sys.modules.items() if folder in str(getattr(m, "__file__", None) or "")]
    assert stale == [], stale
    assert not any(folder in p for p in sys.path)

    from battery_fmu.build import build_fmu

    again, _ = run_once(build_fmu(Path(sys.argv[2])))
    assert again == soc, (again, soc)
    print("ok", soc)
""")


def test_a_python_fmu_built_again_after_one_ran_and_was_deleted(battery_fmu, tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(battery_fmu), str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("ok ")

