"""Build ``BatteryTwinNative.fmu``: the battery twin in C, generated from its one step (no Python).

CasADi writes the C code of the step's functions (:mod:`battery_fmu.native.functions`) for one
parameter set and cell capacity (other capacities run as that cell scaled); ``twin.c`` (the FMI 2.0
interface and the order of the calls) and
``twin_config.h`` (value references, the parameter set's constants, work sizes; written here)
compile with them into the FMU's binary. The sources travel in the FMU's ``sources/`` too, so a
tool on another platform can compile them. The variables, their value references, units and
ranges are those of ``BatteryTwin.fmu`` (:data:`battery_fmu.interface.INTERFACE`): a host swaps
one for the other without changes.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from battery_fmu.interface import INTERFACE, PACK_ATTRIBUTE

HERE = Path(__file__).parent
FMU_NAME = "BatteryTwinNative.fmu"
MODEL_IDENTIFIER = "BatteryTwinNative"
CFLAGS = ("-O2", "-shared", "-fPIC", "-std=c99", "-Wall")
PARAMETER_SET_CHARS = 256
_TYPE_LETTER = {"Real": "R", "Integer": "I", "Boolean": "B", "String": "S"}


class NativeBuildError(RuntimeError):
    """The native FMU cannot be built (no compiler, a parameter set it does not generate)."""


def build_native(
    out_dir: str | Path = "fmus", parameter_set: str = "lfp_220ah", capacity_Ah: float | None = None
) -> Path:
    """Generate, compile and package the native battery FMU into ``out_dir``; its path.

    ``parameter_set`` is fixed in the generated code (the FMU refuses another); ``capacity_Ah`` [A h]
    (default: the set's own) is the cell the code is generated for and the start value of the FMU's
    ``capacity_Ah`` parameter, which takes any capacity at run time (the cell scaled to it).
    """
    from battery_fmu.parameters import load_cell

    if shutil.which("gcc") is None:
        raise NativeBuildError("gcc not found on PATH; install it (Debian/Ubuntu: apt install gcc)")
    p = load_cell(parameter_set, capacity_Ah)
    capacity_ah = p.capacity / 3600.0
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="evtwin_native_") as tmp:
        stage = Path(tmp)
        sources = stage / "sources"
        sources.mkdir()
        sizes = _generate(p, sources)
        guid = (
            "{"
            + str(
                uuid.UUID(
                    hashlib.sha256(
                        (sources / "battery_generated.c").read_bytes() + (HERE / "twin.c").read_bytes()
                    ).hexdigest()[:32]
                )
            )
            + "}"
        )
        (sources / "twin_config.h").write_text(
            _config(p, parameter_set, capacity_ah, guid, sizes), encoding="utf-8"
        )
        shutil.copy(HERE / "twin.c", sources / "twin.c")
        binary = stage / "binaries" / _platform() / f"{MODEL_IDENTIFIER}.so"
        binary.parent.mkdir(parents=True)
        _compile(sources, binary)
        description = _model_description(p, parameter_set, capacity_ah, guid)
        target = out_dir / FMU_NAME
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as fmu:
            fmu.writestr("modelDescription.xml", description)
            fmu.write(binary, f"binaries/{_platform()}/{binary.name}")
            for source in sorted(sources.iterdir()):
                fmu.write(source, f"sources/{source.name}")
    return target


def _platform() -> str:
    import fmpy

    return fmpy.platform


def _generate(p, folder: Path) -> dict[str, int]:
    """CasADi's C code of the step functions (both thermal boundaries) into ``folder``; the work sizes."""
    import casadi as ca

    from battery_fmu.native.functions import build_functions

    generator = ca.CodeGenerator("battery_generated.c", {"with_header": True})
    sizes = {"arg": 0, "res": 0, "iw": 0, "w": 0}
    for coolant, suffix in ((False, "air"), (True, "coolant")):
        for name, f in build_functions(p, coolant, suffix).items():
            if name.startswith("aging") and coolant:
                continue  # the aging laws do not depend on the thermal boundary
            generator.add(f)
            sizes = {k: max(sizes[k], getattr(f, f"sz_{k}")()) for k in sizes}
    generator.generate(str(folder) + "/")
    return sizes


def _config(p, parameter_set: str, capacity_ah: float, guid: str, sizes: dict[str, int]) -> str:
    from battery_fmu import equations as eq
    from battery_fmu import model
    from battery_fmu.native.functions import AGING_STATE
    from battery_fmu.step import boundary

    slow = {}
    for coolant, tag in ((False, "AIR"), (True, "COOLANT")):
        kb, _ = boundary(p, 0.0, 0.0, coolant)
        slow[tag] = eq.thermal_time_constants(kb, p)[1]
    lines = [
        "/* Written by battery_fmu/native/build.py for one parameter set: do not edit. */",
        "#ifndef TWIN_CONFIG_H",
        "#define TWIN_CONFIG_H",
        f'#define MODEL_GUID "{guid}"',
        f'#define PARAMETER_SET "{parameter_set}"',
        f"#define PARAMETER_SET_CHARS {PARAMETER_SET_CHARS}",
        f"#define CAPACITY_AH {capacity_ah!r}",
        f"#define CAPACITY_C {p.capacity!r}",
        f"#define TAU1 {p.tau1!r}",
        f"#define TAU2 {p.tau2!r}",
        f"#define CELL_HEAT_CAPACITY {p.cell_heat_capacity!r}",
        f"#define CONDUCTANCE_HOUSING_AMBIENT {p.conductance_housing_ambient!r}",
        f"#define CONDUCTANCE_HOUSING_COOLANT {p.conductance_housing_coolant!r}",
        f"#define CHUNK_TIME {p.aging.chunk_time!r}",
        f"#define SLOW_TIME_CONSTANT_AIR {slow['AIR']!r}",
        f"#define SLOW_TIME_CONSTANT_COOLANT {slow['COOLANT']!r}",
        f"#define REST_QUADRATURE_MIN_STEP {model.REST_QUADRATURE_MIN_STEP!r}",
        f"#define REST_FIRST_SUBSTEP {model.REST_FIRST_SUBSTEP!r}",
        f"#define REST_SUBSTEP_GROWTH {model.REST_SUBSTEP_GROWTH!r}",
        f"#define REST_SUBSTEP_MAX_FRACTION {model.REST_SUBSTEP_MAX_FRACTION!r}",
        f"#define REST_RC_HEAT_NEGLIGIBLE {model.REST_RC_HEAT_NEGLIGIBLE!r}",
        f"#define N_AGING {len(AGING_STATE)}",
        *(f"#define A_{name} {i}" for i, name in enumerate(AGING_STATE)),
        f"#define N_VARS {len(INTERFACE)}",
        *(f"#define VR_{v.name} {i}" for i, v in enumerate(INTERFACE)),
        "#define START_VALUES {" + ", ".join(_start_number(v, capacity_ah) for v in INTERFACE) + "}",
        'static const char VAR_TYPES[] = "' + "".join(_TYPE_LETTER[v.type] for v in INTERFACE) + '";',
        'static const char VAR_CAUSALITY[] = "' + "".join(v.causality[0] for v in INTERFACE) + '";',
        *(f"#define SZ_{k.upper()} {n}" for k, n in sizes.items()),
        "#endif",
    ]
    return "\n".join(lines) + "\n"


def _start_number(v, capacity_ah: float) -> str:
    if v.name == "capacity_Ah":
        return repr(capacity_ah)
    if v.type == "String":
        return "0.0"
    if v.type == "Boolean":
        return "1.0" if v.start else "0.0"
    return repr(float(v.start))


def _model_description(p, parameter_set: str, capacity_ah: float, guid: str) -> bytes:
    from battery_fmu.model_description import add_ranges, add_units

    root = ET.Element(
        "fmiModelDescription",
        {
            "fmiVersion": "2.0",
            "modelName": MODEL_IDENTIFIER,
            "guid": guid,
            "description": f"The battery twin in C without Python, generated for the cell parameter set "
            f"{parameter_set} "
            f"at {capacity_ah:g} A h (CasADi code of the twin's step)",
            "generationTool": "evtwin fmu build --native (CasADi C code generation)",
            "variableNamingConvention": "structured",
            "numberOfEventIndicators": "0",
        },
    )
    ET.SubElement(
        root,
        "CoSimulation",
        {
            "modelIdentifier": MODEL_IDENTIFIER,
            "canHandleVariableCommunicationStepSize": "true",
            "canGetAndSetFMUstate": "true",
            "canSerializeFMUstate": "true",
            "canInterpolateInputs": "false",
            "canBeInstantiatedOnlyOncePerProcess": "false",
        },
    )
    ET.SubElement(
        ET.SubElement(root, "LogCategories"), "Category", {"name": "logStatusError", "description": "Errors"}
    )
    outputs = _variables(ET.SubElement(root, "ModelVariables"), p, parameter_set, capacity_ah)
    add_units(root, {v.name: v.unit for v in INTERFACE})
    add_ranges(root, {v.name: (v.min, v.max) for v in INTERFACE})
    structure = ET.SubElement(ET.SubElement(root, "ModelStructure"), "Outputs")
    for index in outputs:
        ET.SubElement(structure, "Unknown", {"index": str(index)})
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _variables(variables: ET.Element, p, parameter_set: str, capacity_ah: float) -> list[int]:
    """The interface's variables, numbered as in BatteryTwin.fmu; the 1-based indices of the outputs.

    Outputs start at what a default pack shows before its first step (as pythonfmu writes them)."""
    from battery_fmu.model import BatteryPack

    defaults = {v.name: v.start for v in INTERFACE}
    pack = BatteryPack(
        p,
        n_series=defaults["n_series"],
        n_parallel=defaults["n_parallel"],
        soc=defaults["SOC_init"],
        temperature=defaults["T_init"],
    )
    outputs = []
    for i, v in enumerate(INTERFACE):
        attrs = {
            "name": v.name,
            "valueReference": str(i),
            "description": v.description,
            "causality": v.causality,
        }
        if v.causality == "output":
            attrs.update(variability="continuous", initial="exact")
            outputs.append(i + 1)
            start = getattr(pack, PACK_ATTRIBUTE[v.name])
        else:
            attrs["variability"] = "continuous" if v.causality == "input" else "fixed"
            start = {"parameter_set": parameter_set, "capacity_Ah": capacity_ah}.get(v.name, v.start)
        sv = ET.SubElement(variables, "ScalarVariable", attrs)
        ET.SubElement(sv, v.type, {"start": _start_text(v.type, start)})
    return outputs


def _start_text(kind: str, value) -> str:
    if kind == "Boolean":
        return "true" if value else "false"
    if kind == "Integer":
        return str(int(value))
    if kind == "String":
        return str(value)
    return repr(float(value))


def _compile(sources: Path, binary: Path) -> None:
    import fmpy

    include = Path(fmpy.__file__).parent / "c-code"
    cmd = [
        "gcc",
        *CFLAGS,
        f"-I{include}",
        f"-I{sources}",
        str(sources / "twin.c"),
        str(sources / "battery_generated.c"),
        "-o",
        str(binary),
        "-lm",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise NativeBuildError(f"compiling the native battery FMU failed:\n{done.stderr.strip()[-3000:]}")
