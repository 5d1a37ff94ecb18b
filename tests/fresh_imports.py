"""Import each named module first in a fresh process: `python tests/fresh_imports.py MODULE...`.

A fresh interpreter per module costs a second each, mostly in third-party libraries, so this
process loads those once and forks a child per module; every child starts with none of the
platform's modules loaded except those Django's setup itself imports, imports its module
first, then all the others (forwards or backwards). The modules Django's setup imports (models
and what they need) are first imported, each in its own child, before the setup.
Prints one line per failure with its traceback, and exits 1 if any module failed.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OWN = ("accounts", "project", "videos")


def own_loaded() -> set[str]:
    return {name for name in sys.modules if name.partition(".")[0] in OWN}


def in_child(work: Callable[[], object]) -> tuple[bool, str]:
    """Run `work` in a forked child: whether it finished without raising, and the text it returned."""
    sys.stdout.flush()
    sys.stderr.flush()
    # Objects moved out of the collector's reach stay shared with the child: a collection there
    # would otherwise touch, and so copy, every page of this process.
    gc.freeze()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        code = 0
        try:
            with os.fdopen(write_end, "w") as pipe:
                pipe.write(str(work() or ""))
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        text = pipe.read()  # before waiting: a child writing more than a pipe holds would block
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0, text


def import_before_setup(name: str) -> None:
    from django.core.exceptions import AppRegistryNotReady

    # A module defining models cannot come before the setup: Django's setup imports it, in its own order.
    with contextlib.suppress(AppRegistryNotReady):
        importlib.import_module(name)


def import_first(name: str, others: list[str]) -> Callable[[], None]:
    def work() -> None:
        importlib.import_module(name)
        for other in others:
            importlib.import_module(other)

    return work


def preload_libraries(work: Callable[[], object]) -> bool:
    """Import here, once, the third-party modules `work` loads (learned in a child, in load order).

    A library that imports a platform module on its own (DRF loading the authentication class
    named in its settings) does so here, as it would in a server."""
    loaded_before = set(sys.modules)

    def report() -> str:
        work()
        return "\n".join(
            name for name in sys.modules if name not in loaded_before and name.partition(".")[0] not in OWN
        )

    ok, text = in_child(report)
    for library in text.split():
        try:
            importlib.import_module(library)
        except Exception:  # noqa: S112 - a private part of a library; a child imports it if it needs it
            continue
    return ok


def main(modules: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django
    from django.conf import settings

    # The admin app's own setup imports every admin module and, through them, most of the
    # platform; without it each module below can be the first one imported.
    settings.INSTALLED_APPS = [
        "django.contrib.admin.apps.SimpleAdminConfig" if app == "django.contrib.admin" else app
        for app in settings.INSTALLED_APPS
    ]
    settings_modules = own_loaded()
    ok, text = in_child(lambda: (django.setup(), "\n".join(own_loaded() - settings_modules))[1])
    if not ok:
        print("FAILED: django.setup()")
        return 1
    setup_modules = sorted(set(text.split()) & set(modules))
    failed: list[str] = []

    # The modules Django's setup imports, each first, before the setup.
    preload_libraries(lambda: [import_before_setup(name) for name in setup_modules])
    for name in setup_modules:
        if not in_child(lambda name=name: import_before_setup(name))[0]:
            failed.append(f"{name} (before django.setup())")

    # Every other module first, after the setup, then all the others forwards or backwards.
    django.setup()
    if not preload_libraries(lambda: [importlib.import_module(name) for name in modules]):
        failed.append("all modules in one process")
    preloaded = own_loaded()
    for index, name in enumerate(modules):
        if name in preloaded:
            continue
        others = [other for other in modules if other != name]
        if index % 2:
            others.reverse()
        if not in_child(import_first(name, others))[0]:
            failed.append(name)

    for name in failed:
        print(f"FAILED: {name}")
    by_libraries = sorted((preloaded - set(setup_modules) - settings_modules) & set(modules))
    print(f"imported by Django's settings or setup: {', '.join(sorted(settings_modules))}")
    print(f"imported by a library before any module: {', '.join(by_libraries) or 'none'}")
    print(f"{len(modules)} modules, {len(failed)} failures")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
