from tinyml.harness.icount import parse_marks, split_invokes


def test_layers_partition_the_total():
    log = ["M 0 100", "M 2 103", "M 3 150", "M 4 155", "M 5 300", "M 1 310", "T 999"]
    (inv,) = split_invokes(parse_marks(log), 2)
    assert inv.total == 210
    assert inv.layers == (50, 160)          # set-up before a layer counts for it
    assert sum(inv.layers) == inv.total


def test_several_invokes_and_noise_outside_them():
    log = ["M 2 5", "M 0 10", "M 2 11", "M 3 20", "M 1 21", "M 0 30", "M 2 31", "M 3 45", "M 1 47"]
    invs = split_invokes(parse_marks(log), 1)
    assert [(i.total, i.layers) for i in invs] == [(11, (11,)), (17, (17,))]


def test_model_without_hooks_reports_total_only():
    (inv,) = split_invokes(parse_marks(["M 0 1", "M 1 9"]), 3)
    assert inv.total == 8 and inv.layers == ()
