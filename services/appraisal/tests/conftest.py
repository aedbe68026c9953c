"""Makes ``services/appraisal/tests/fakes.py`` importable as ``appraisal_fakes`` (a name no other
service's tests use) for the unit tests and the contract test that holds the fake to the real store."""

import importlib.util
import sys
from pathlib import Path

if "appraisal_fakes" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("appraisal_fakes", Path(__file__).with_name("fakes.py"))
    assert _spec is not None and _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["appraisal_fakes"] = _module
    _spec.loader.exec_module(_module)
