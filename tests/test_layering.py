"""Imports run one way: hpo <- searchers <- schedulers <- benchmarks; peers only in benchmarks."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["hpo", "searchers", "schedulers", "benchmarks"]
PEERS = {"dehb", "optuna", "smac", "syne_tune", "hpbandster", "neps", "ConfigSpace", "carbs"}


def imported_modules(package):
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):  # function-level (lazy) imports count too
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield path, node.module.split(".")[0]


@pytest.mark.parametrize("package", LAYERS)
def test_imports_run_one_way(package):
    higher = set(LAYERS[LAYERS.index(package) + 1:])
    bad = [(str(p.relative_to(ROOT)), m) for p, m in imported_modules(package) if m in higher]
    assert not bad, f"{package} imports a higher layer: {bad}"


@pytest.mark.parametrize("package", ["hpo", "searchers", "schedulers"])
def test_core_never_imports_peer_libraries(package):
    bad = [(str(p.relative_to(ROOT)), m) for p, m in imported_modules(package) if m in PEERS]
    assert not bad, bad


def test_no_global_rng_calls_in_library_code():
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            for pattern in ("np.random.seed(", "np.random.rand(", "np.random.choice(",
                            "np.random.randint(", "np.random.normal(", "random.random("):
                assert pattern not in text, f"{path}: global RNG call {pattern}"
            assert not _unforked_torch_seeds(text), \
                f"{path}: torch.manual_seed outside a torch.random.fork_rng block"


def _unforked_torch_seeds(text):
    """``torch.manual_seed`` calls not lexically inside ``with torch.random.fork_rng(...)``
    (inside one, the global torch RNG is restored on exit: a sanctioned seeded block)."""
    tree = ast.parse(text)
    bad = []

    def visit(node, forked):
        if isinstance(node, ast.With) and any(
                ast.unparse(item.context_expr).startswith("torch.random.fork_rng")
                for item in node.items):
            forked = True
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "torch.manual_seed" \
                and not forked:
            bad.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, forked)

    visit(tree, False)
    return bad


def test_the_torch_seed_check_has_power():
    assert _unforked_torch_seeds("import torch\ntorch.manual_seed(0)\n") == [2]
    assert _unforked_torch_seeds(
        "import torch\nwith torch.random.fork_rng(devices=[]):\n    torch.manual_seed(0)\n") == []
