"""V1 coordinate check: our μP MLP passes and its SP twin fails (the check has power)."""

import pytest
import torch

import hpo
from searchers.coord_check import coord_check
from searchers.mup import MuMLP, mup_adam

WIDTHS = [64, 128, 256, 512]


def _check(parametrization):
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(64, 16, generator=g), torch.randint(0, 10, (64,), generator=g))
               for _ in range(2)]

    def factory(width):
        model = MuMLP(width, parametrization=parametrization,
                      generator=torch.Generator().manual_seed(width))
        return model, mup_adam(model, 0.02)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small matrices: one thread is faster on a shared machine
    try:
        return coord_check(factory, WIDTHS, batches, 5)
    finally:
        torch.set_num_threads(threads)


def test_mup_passes_and_sp_fails():
    mup, sp = _check("mup"), _check("sp")
    assert mup.passed, mup.to_json()
    assert mup.max_abs_slope <= 0.1
    assert not sp.passed and sp.max_abs_slope >= 0.3, sp.to_json()
    hidden = {s.layer: s.slope for s in sp.layers}
    assert hidden["hidden.0"] > 0.5  # SP hidden activations grow ~ width under Adam
    assert set(mup.history) == {"input", "hidden.0", "hidden.1", "readout"}


@pytest.mark.parametrize("widths, steps", [([64], 3), ([64, 64], 3), ([64, 128], 0)])
def test_bad_arguments_are_hpo_errors(widths, steps):
    with pytest.raises(hpo.HPOError):
        coord_check(lambda w: None, widths, [(torch.zeros(1, 16), torch.zeros(1))], steps)


def test_mumlp_validates():
    with pytest.raises(hpo.SpaceError, match="parametrization"):
        MuMLP(64, parametrization="ntk")
