"""Pipelines: CodePipeline's model, the execution engine, runners, a buildspec runner.

- `definitions/`: parse and validate pipeline structures (pure)
- `buildspec/`: CodeBuild 0.2 buildspecs in a bubblewrap sandbox (no database)
- `service.Pipelines`: what front ends call (definitions, executions, approvals, secrets)
- `engine`, `executions`, `jobs`: execution state in SQL, advanced under the pipeline lock
- `triggering`, `scheduler`: executions started from pushes and pull-request events
- `runner`, `actions/`: runners claim jobs and run the action providers
"""
