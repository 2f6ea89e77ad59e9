"""Where day D's pending faults come from: stored generations for the rules
they serve as they are now, `faults` read again for every other rule."""
from datetime import date

from spark_app.daily.pending import Generation, PendingPlan, horizon_days

D = date(2016, 11, 20)
RULES = {1: "JAP:#A,#B", 2: "JAP:#C", 3: "VOL:#D"}


def test_horizon_is_the_h_days_before_d():
    assert horizon_days(D, 3) == [date(2016, 11, 17), date(2016, 11, 18), date(2016, 11, 19)]


def test_generations_serving_every_rule_are_read_and_nothing_again():
    generations = {as_of: Generation(as_of, dict(RULES)) for as_of in horizon_days(D, 2)}
    plan = PendingPlan.of(D, generations, RULES)
    assert plan.stored_days == [date(2016, 11, 18), date(2016, 11, 19)]
    assert plan.reread == {}
    assert plan.scope_rules == {2: frozenset(RULES), 1: frozenset(RULES)}


def test_missing_changed_and_new_rules_read_their_days_again():
    d2, d1 = horizon_days(D, 2)
    generations = {
        d2: None,  # never written (the job did not run that day)
        # built when rule 2 watched another tag, and before rule 3 existed
        d1: Generation(d1, {1: RULES[1], 2: "JAP:#Z"}),
    }
    plan = PendingPlan.of(D, generations, RULES)
    assert plan.stored_days == [d1]
    assert plan.reread == {d2: frozenset({1, 2, 3}), d1: frozenset({2, 3})}
    assert plan.scope_rules == {-2: frozenset({1, 2, 3}), 1: frozenset({1}),
                                -1: frozenset({2, 3})}


def test_no_horizon_means_no_pending_faults():
    assert PendingPlan.of(D, {}, RULES) == PendingPlan([], {}, {})
