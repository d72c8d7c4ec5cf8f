"""`make acceptance ENV=<env>`: the first-deployment checklist against a real account (see cli.py).

api.py calls the deployed API; samples.py builds each model's request and checks its answer;
pipelines.py and executions.py start and follow the pipeline runs; waiting.py polls them with
progress; operations.py reads back the alarms, topic, dashboards and budget; checklist.py runs the rows.
"""
