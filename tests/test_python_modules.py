"""Forgetting an FMU's Python modules when its folder goes: only what was loaded from that folder."""

import sys
import types

from cosim.fmu.python_modules import forget_modules_under


class _AnswersEveryName(types.ModuleType):
    """Like torch's ``torch.classes``: an object in sys.modules whose attribute lookup invents values."""

    def __getattr__(self, name):
        return object()


def test_modules_loaded_from_the_folder_go_and_others_stay(tmp_path, monkeypatch):
    pkg = tmp_path / "evtwin_forget_me"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("X = 1\n")
    (pkg / "part.py").write_text("Y = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import evtwin_forget_me.part  # noqa: F401

    monkeypatch.setitem(sys.modules, "odd_entry", _AnswersEveryName("odd_entry"))
    gone = forget_modules_under(str(tmp_path))
    assert sorted(gone) == ["evtwin_forget_me", "evtwin_forget_me.part"]
    assert "evtwin_forget_me" not in sys.modules and "odd_entry" in sys.modules and "json" in sys.modules
    assert str(tmp_path) not in sys.path
