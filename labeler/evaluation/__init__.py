"""Evaluation: scoring a classifier's predictions against gold labels (`metrics`).

Owns the numbers every other stage reports (accuracy, macro-F1, MCC, TweetEval's stance F1, the
confusion matrix, ROC/PR for two labels, the list of mistakes). Training's per-epoch and final
scores, the model comparison and the `evaluate` command all compute them here.
"""
