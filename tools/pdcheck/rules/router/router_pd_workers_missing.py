from ...findings import Severity
from ...model import Flag
from .. import _links as L
from .._router import is_pd, parse_selector, uses_discovery
from .._util import flag_path
from ..base import Problem, Rule


def check(model, ctx):
    for wl, c in model.routers:
        if not is_pd(c):
            continue
        if uses_discovery(c):
            missing = [f for f in ("--prefill-selector", "--decode-selector") if c.flag(f).state != Flag.RUNTIME and not parse_selector(c.flag(f).value)]
            if missing:
                yield Problem(wl.obj, flag_path(c, "--service-discovery"),
                              f"router {wl.name} runs --pd-disaggregation with --service-discovery but without {' and '.join(missing)}, so it discovers no {' and no '.join(m[2:-9] for m in missing)} workers",
                              "give both --prefill-selector and --decode-selector (label=value items selecting the LWS leader pods of each role)")
            continue
        missing = [f for f in ("--prefill", "--decode") if c.flag(f).state != Flag.RUNTIME and not c.flag(f).value]
        if missing:
            yield Problem(wl.obj, flag_path(c, "--pd-disaggregation"),
                          f"router {wl.name} runs --pd-disaggregation without any {' and any '.join(missing)} URL, so every request fails with 503",
                          "add --prefill http://<prefill leader Service>:<port> [<bootstrap port>] and --decode http://<decode leader Service>:<port>, or use --service-discovery with both selectors")


RULE = Rule(
    id="router-pd-workers-missing", severity=Severity.ERROR,
    summary="PD router without prefill or decode workers",
    doc="""In PD mode the router pairs every request with one prefill and one decode worker. With no
`--prefill` (or no `--decode`) URL and no service discovery it starts, answers `/health` with 200,
and fails every request with 503 `No prefill workers available` (measured with sglang-router
0.3.2, see docs/router-e2e.md). With `--service-discovery` the router's PodInfo::should_include
only adds pods matching `--prefill-selector` or `--decode-selector`; an empty selector matches no
pod (`matches_selector` returns false for an empty map).""",
    links=(L.ROUTER_ARGS, L.SERVICE_DISCOVERY),
    check=check,
)
