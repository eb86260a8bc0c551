"""The runner's reading of what plugin_process returns (the plain forms first)."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(os.path.dirname(HERE), "python"), os.path.join(os.path.dirname(os.path.dirname(HERE)), "python")]

from logloom_plugin import runner  # noqa: E402


class FilterVerdictTest(unittest.TestCase):
    def test_status_forms(self):
        self.assertIs(runner.verdict({"status": 0}), True)
        self.assertIs(runner.verdict({"status": 0, "message": "ok"}), True)
        with self.assertRaisesRegex(RuntimeError, "invalid input"):
            runner.verdict({"status": 1, "error": "invalid input"})

    def test_a_changed_entry_is_a_replacement_copy(self):
        entry = {"timestamp": "t", "level": "INFO", "module": "APP", "message": "password=x"}
        copy = dict(entry, message="password=***")
        self.assertEqual(runner.verdict(copy), copy)
        self.assertEqual(runner.verdict({"keep": copy}), copy)
        with self.assertRaisesRegex(ValueError, "message"):
            runner.verdict({"level": "WARN"})

    def test_plain_forms(self):
        self.assertIs(runner.verdict(True), True)
        self.assertIs(runner.verdict(False), False)
        self.assertIs(runner.verdict(None), True)
        self.assertIs(runner.verdict(0), True)
        self.assertIs(runner.verdict(1), False)
        self.assertIs(runner.verdict({"keep": False}), False)


class AiResultsTest(unittest.TestCase):
    def test_seed_forms(self):
        self.assertEqual(runner.as_results({"status": 0, "message": "ok"}), [])
        self.assertEqual(runner.as_results({"status": 0, "summary": "3 failures"}), [{"summary": "3 failures"}])
        with self.assertRaisesRegex(RuntimeError, "boom"):
            runner.as_results({"status": 1, "error": "boom"})
        self.assertEqual(runner.as_results({"message": "a result"}), [{"message": "a result"}])


if __name__ == "__main__":
    unittest.main()
