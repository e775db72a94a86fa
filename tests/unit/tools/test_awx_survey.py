"""tools/awx-survey: argument spec options -> AWX survey questions."""
import importlib.machinery
import importlib.util
import os

import pytest

PATH = os.path.join(os.path.dirname(__file__), "..", "..", "..", "tools", "awx-survey")
_loader = importlib.machinery.SourceFileLoader("awx_survey", PATH)
_spec = importlib.util.spec_from_loader("awx_survey", _loader)
awx_survey = importlib.util.module_from_spec(_spec)
_loader.exec_module(awx_survey)


@pytest.mark.parametrize("spec, expected", [
    ({"type": "str", "default": "db", "description": "Name C(x)."},
     {"type": "text", "default": "db", "question_description": "Name x."}),
    ({"type": "str", "no_log": True, "default": "hunter2"}, {"type": "password", "default": ""}),
    ({"type": "str", "choices": ["a", "b"], "default": "a"}, {"type": "multiplechoice", "choices": ["a", "b"], "default": "a"}),
    ({"type": "int", "default": 3, "required": True}, {"type": "integer", "default": 3, "required": True}),
    ({"type": "bool", "default": False}, {"type": "multiplechoice", "choices": ["true", "false"], "default": "false"}),
    ({"type": "path"}, {"type": "text", "required": False}),
    ({"type": "float", "default": 1.5}, {"type": "float", "default": 1.5}),
])
def test_question_types(spec, expected):
    q = awx_survey.question("mysql_cluster", "mysql_cluster_x_y", spec, {})
    assert q["variable"] == "mysql_cluster_x_y" and q["question_name"] == "X y"
    for key, value in expected.items():
        assert q[key] == value, key
    if "default" not in expected:
        assert "default" not in q


@pytest.mark.parametrize("kind", ["dict", "list", "raw"])
def test_structured_options_are_not_questions(kind):
    assert awx_survey.question("r", "r_x", {"type": kind}, {}) is None


def test_hints_add_bounds_and_override_type():
    q = awx_survey.question("r", "r_n", {"type": "int", "default": 3}, {"min": 1, "max": 9})
    assert (q["min"], q["max"]) == (1, 9)
    assert awx_survey.question("r", "r_t", {"type": "str"}, {"type": "textarea"})["type"] == "textarea"


def test_entry_points_from_roles_and_include_role():
    playbook = [{"roles": [{"role": "statefuldb.k8s.a"}, "other.ns.role"],
                 "tasks": [{"ansible.builtin.include_role": {"name": "statefuldb.k8s.b", "tasks_from": "teardown"},
                            "vars": {"b_flag": "{{ flag }}"}}]}]
    assert awx_survey.entry_points(playbook) == [("a", "main", {}), ("b", "teardown", {"b_flag": "{{ flag }}"})]


def test_survey_drops_what_the_playbook_sets_and_adds_its_own_variables():
    specs = {"b": {"argument_specs": {"teardown": {"options": {
        "b_name": {"type": "str", "default": "x"}, "b_flag": {"type": "bool"}, "b_labels": {"type": "dict"},
        "b_token": {"type": "str"}}}}}}
    playbook = [{"tasks": [{"include_role": {"name": "statefuldb.k8s.b", "tasks_from": "teardown"},
                            "vars": {"b_flag": "{{ flag }}"}}]}]
    hints = {"exclude": {"b_token": "a credential"},
             "playbooks": {"p.yml": [{"variable": "flag", "type": "multiplechoice", "choices": ["false", "true"]}]}}
    result = awx_survey.survey("p.yml", playbook, specs, hints)
    assert [q["variable"] for q in result["spec"]] == ["b_name", "flag"]
    assert result["spec"][1]["choices"] == "false\ntrue"
    assert "b_labels" in result["description"]


def test_unknown_entry_point_is_named():
    with pytest.raises(SystemExit, match="entry point nope"):
        awx_survey.survey("p.yml", [{"roles": []}, {"tasks": [{"include_role": {
            "name": "statefuldb.k8s.b", "tasks_from": "nope"}}]}], {"b": {"argument_specs": {}}}, {})


def test_committed_surveys_are_current(capsys):
    assert awx_survey.main(["--check"]) == 0, capsys.readouterr().out
