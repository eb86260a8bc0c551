"""Unit tests of the example plugins' logic, stdlib unittest:

    /usr/bin/python3 -m unittest discover -s python/tests
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(ROOT, "python"), os.path.join(ROOT, "python/plugins/log_summary_ai"),
                os.path.join(ROOT, "python/plugins/lang_hot_reload")]

import lang_hot_reload  # noqa: E402
import log_summary_ai  # noqa: E402


class DrainTest(unittest.TestCase):
    def test_merges_variable_tokens_into_wildcards(self):
        d = log_summary_ai.Drain(0.5, 100)
        a, _, created_a = d.add("Connection from alice closed", "INFO")
        b, values, created_b = d.add("Connection from bob closed", "INFO")
        self.assertTrue(created_a)
        self.assertFalse(created_b)
        self.assertIs(a, b)
        self.assertEqual(b.template, "Connection from <*> closed")
        self.assertEqual(values, [(2, "bob")])

    def test_tokens_with_digits_are_variables_and_lengths_separate_templates(self):
        d = log_summary_ai.Drain(0.5, 100)
        c, values, _ = d.add("Temperature 21.5 C on sensor 3", "INFO")
        self.assertEqual(c.template, "Temperature <*> C on sensor <*>")
        self.assertEqual(values, [(1, "21.5"), (5, "3")])
        other, _, created = d.add("Temperature 21.5 C", "INFO")
        self.assertTrue(created)
        self.assertIsNot(other, c)

    def test_burst_needs_one_value_far_above_the_others(self):
        log_summary_ai.plugin_init({"burst_threshold": 3, "burst_factor": 2.0, "warmup_entries": 0})
        found = []
        for i, ip in enumerate(["10.0.0.1", "10.0.0.2", "10.0.0.3", "1.2.3.4", "1.2.3.4", "1.2.3.4"]):
            entry = {"timestamp": "2026-01-01T00:00:%02dZ" % i, "level": "WARN", "message": "Invalid password for root from %s" % ip}
            found += [r for r in log_summary_ai.plugin_process(entry) if r["lang_key"] != "ai.new_template"]
        self.assertEqual([r["message"] for r in found], ["Multiple auth failures from IP 1.2.3.4"])

    def test_window_expires_old_entries(self):
        log_summary_ai.plugin_init({"burst_threshold": 3, "window_seconds": 10, "warmup_entries": 1000})
        found = []
        for i in range(3):  # one every 20 s: never three inside 10 s
            entry = {"timestamp": "2026-01-01T00:%02d:00Z" % i, "level": "WARN", "message": "login failed from 1.2.3.4"}
            found += list(log_summary_ai.plugin_process(entry))
        self.assertEqual(found, [])

    def test_unknown_config_is_refused(self):
        with self.assertRaises(ValueError):
            log_summary_ai.plugin_init({"windw": 5})


class YamlSubsetTest(unittest.TestCase):
    def test_parses_the_shipped_locales_like_a_full_yaml_parser(self):
        for lang in ("en", "zh"):
            with open(os.path.join(ROOT, "locales/%s.yaml" % lang), encoding="utf-8") as f:
                text = f.read()
            flat = lang_hot_reload.flatten(lang_hot_reload.parse_yaml_subset(text, lang), "", {})
            self.assertIn("ai.auth_failures", flat)
            self.assertIn("agent.started", flat)
            try:
                import yaml
            except ImportError:
                continue
            self.assertEqual(flat, lang_hot_reload.flatten(yaml.safe_load(text), "", {}))

    def test_quoting_comments_and_errors(self):
        doc = lang_hot_reload.parse_yaml_subset('a:\n  b: "x \\"q\\" # not a comment"  # comment\n  c: \'it\'\'s\'\n  d: plain # comment\n')
        self.assertEqual(doc, {"a": {"b": 'x "q" # not a comment', "c": "it's", "d": "plain"}})
        with self.assertRaises(lang_hot_reload.YamlSubsetError):
            lang_hot_reload.parse_yaml_subset('a:\n  b: "open\n', "x.yaml")
        with self.assertRaises(lang_hot_reload.YamlSubsetError):
            lang_hot_reload.parse_yaml_subset("just text\n", "x.yaml")


if __name__ == "__main__":
    unittest.main()
