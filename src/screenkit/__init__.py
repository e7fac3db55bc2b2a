"""screenkit: clinical-trial eligibility screening with pandas.

Load a screening log, evaluate a protocol's criteria (pass / fail / unknown), see the
screen-failure funnel, relax a threshold, forecast when the target is reached, and hand the
results on as an Excel workbook.

>>> import screenkit as sk
>>> data = sk.load_sample()                        # doctest: +SKIP
>>> result = sk.evaluate(data, sk.get_protocol("NCT07103668"))   # doctest: +SKIP
>>> sk.funnel(result)                               # doctest: +SKIP

The core (loading, protocols, evaluation, funnel) is imported eagerly; the rest lazily,
so the core works without the notebook stack (plotly, ipywidgets) installed.
"""

from __future__ import annotations

from screenkit._lazy import lazy_names

__version__ = "0.1.0"

# Eager imports: the functions `evaluate`, `funnel`, `compare` and `concordance` share
# their module's name, and binding them here, after the submodules load, keeps
# `screenkit.compare` the function (a lazy name would be replaced by the submodule as soon
# as anything imported `screenkit.compare`).
from screenkit.compare import compare as compare
from screenkit.concordance import concordance as concordance
from screenkit.evaluate import Evaluation as Evaluation
from screenkit.evaluate import evaluate as evaluate
from screenkit.funnel import Funnel as Funnel
from screenkit.funnel import PatternCounts as PatternCounts
from screenkit.funnel import funnel as funnel

_PUBLIC = {
    # name: module
    "InputError": "errors",
    "ProtocolError": "errors",
    "ScreenkitError": "errors",
    "COLUMNS": "columns",
    "load_screening": "normalize",
    "ScreeningData": "normalize",
    "LoadReport": "normalize",
    "Protocol": "protocol",
    "get_protocol": "protocol",
    "load_protocol": "protocol",
    "list_protocols": "protocol",
    "amend": "amendment",
    "protocol_diff": "amendment",
    "check_protocol": "protocol_check",
    "evaluate": "evaluate",
    "Evaluation": "evaluate",
    "evaluate_recorded": "recorded",
    "RecordedReasons": "recorded",
    "PatternCounts": "funnel",
    "Funnel": "funnel",
    "funnel": "funnel",
    "load_sample": "datasets",
    "make_sample": "datasets",
    "RecruitmentForecast": "forecast",
    "recruitment_rates": "forecast",
    "export_excel": "export",
    "export_html": "export",
    "export_ie": "export",
    "consort_flow": "plots.flow",
    "ScreeningExplorer": "widgets",
    "load_sdtm": "sdtm",
    "summarize_sdtm": "sdtm",
    "SdtmStudy": "sdtm",
    "SdtmSummary": "sdtm",
    "evaluate_sdtm": "sdtm",
    # protocol comparison (issue 15)
    "Comparison": "compare",
    # protocol drafted from a registry record (issue 18)
    "draft_protocol": "draft",
    "Draft": "draft",
}

__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC)
