"""Import a student's file, and find the exercise classes in it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from .catalog import EXERCISES, exercise_of
from .search import summarise


class LoadError(Exception):
    """The file cannot be graded: missing, not Python, a syntax error, an exception while importing."""


class ExitedWhileLoading(LoadError):
    """The file called sys.exit() while it was imported."""


def load(path: Path) -> Any:
    """Import a student's file as a fresh module (its folder on sys.path while it loads)."""
    if path.is_dir():
        raise LoadError(f"{path} is a folder: expected a .py file (for a whole folder: {path}/*.py)")
    if not path.is_file():
        raise LoadError(f"no such file: {path}")
    name = f"_tinyae_exercise_{abs(hash(str(path.resolve())))}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LoadError(f"cannot import {path}: is it a Python file?")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        text = f"\n    {exc.text.rstrip()}" if exc.text else ""
        raise LoadError(f"{path} has a syntax error at {where}: {exc.msg}{text}") from None
    except SystemExit as exc:
        sys.modules.pop(name, None)
        where = summarise(exc, str(path.resolve())).where
        raise ExitedWhileLoading(f"{path} called sys.exit({exc.code!r}) while loading"
                                 + (f", at {where}" if where else "") + ": a file of exercises must not exit") from None
    except BaseException as exc:  # noqa: BLE001  (whatever the file raises while loading, it is reported)
        sys.modules.pop(name, None)
        raised = summarise(exc, str(path.resolve()))
        raise LoadError(f"{path} failed while loading: {raised}") from None
    finally:
        if sys.path and sys.path[0] == folder:
            del sys.path[0]
    return module


def exercise_classes(module: Any, exercise: str | None = None) -> list[type]:
    """The classes *defined* in ``module`` that are exercises (or, given ``exercise``, graded as that one).

    With ``exercise``, a class that declares it or subclasses its layer is taken; when there is
    none, every class defined in the file with the exercise's method (``backward``, ``step``).
    """
    defined = [v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module.__name__]
    if exercise is not None:
        wanted = EXERCISES[exercise]
        declared = [c for c in defined if _exercise_name(c) == exercise]
        return declared or [c for c in defined if wanted.method in vars(c)]
    return [c for c in defined if _exercise_name(c) is not None]


def _exercise_name(cls: type) -> str | None:
    try:
        found = exercise_of(cls)
    except ValueError:
        return getattr(cls, "exercise", None)  # a misspelt exercise name: grade() reports it
    return None if found is None else found.name


def resolve(target: str, exercise: str | None = None) -> tuple[Path, list[Any]]:
    """``FILE.py`` or ``FILE.py::ClassName`` -> (the path, the classes to grade). Raises LoadError."""
    path_text, _, name = target.partition("::")
    path = Path(path_text)
    module = load(path)
    if name:
        obj = module
        for part in name.split("."):
            obj = getattr(obj, part, None)
        if obj is None:
            known = ", ".join(c.__name__ for c in exercise_classes(module, exercise)) or "none"
            raise LoadError(f"{path_text} has no class {name!r}; exercise classes in it: {known}")
        return path, [obj]
    found = exercise_classes(module, exercise)
    if not found:
        if exercise is not None:
            raise LoadError(f"found no class in {path_text} to grade as {exercise!r}: expected a class with a "
                            f"{EXERCISES[exercise].method}() method")
        raise LoadError(f"found no exercise class in {path_text}: an exercise class has an attribute "
                        f"exercise = \"...\" (one of {', '.join(EXERCISES)}) or subclasses the tinyae layer it "
                        "implements")
    return path, found
