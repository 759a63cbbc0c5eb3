"""Risk model, score and grade, premium tariff and explanations."""
