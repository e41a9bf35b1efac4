"""Pipelines: CodePipeline's model and a CodeBuild-compatible buildspec runner."""
