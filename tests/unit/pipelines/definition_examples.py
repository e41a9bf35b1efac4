"""Pipeline documents for the definition tests: AWS's own example shapes and a base
pipeline every rule test breaks in one place."""

from __future__ import annotations

import copy
import json
from typing import Any

ROLE = "arn:aws:iam::111111111111:role/AWS-CodePipeline-Service"

# `aws codepipeline get-pipeline --name MyFirstPipeline`, as the user guide prints it
# (pipelines-view-cli.html): an S3 source and a CodeDeploy action, empty artifact lists,
# the artifact store and the metadata.
GET_PIPELINE_OUTPUT: dict[str, Any] = {
    "pipeline": {
        "roleArn": ROLE,
        "stages": [
            {
                "name": "Source",
                "actions": [
                    {
                        "inputArtifacts": [],
                        "name": "Source",
                        "actionTypeId": {
                            "category": "Source",
                            "owner": "AWS",
                            "version": "1",
                            "provider": "S3",
                        },
                        "outputArtifacts": [{"name": "MyApp"}],
                        "configuration": {
                            "S3Bucket": "amzn-s3-demo-source-bucket",
                            "S3ObjectKey": "ExampleCodePipelineSampleBundle.zip",
                            "PollForSourceChanges": "false",
                        },
                        "runOrder": 1,
                    }
                ],
            },
            {
                "name": "Staging",
                "actions": [
                    {
                        "inputArtifacts": [{"name": "MyApp"}],
                        "name": "Deploy-CodeDeploy-Application",
                        "actionTypeId": {
                            "category": "Deploy",
                            "owner": "AWS",
                            "version": "1",
                            "provider": "CodeDeploy",
                        },
                        "outputArtifacts": [],
                        "configuration": {
                            "ApplicationName": "CodePipelineDemoApplication",
                            "DeploymentGroupName": "CodePipelineDemoFleet",
                        },
                        "runOrder": 1,
                    }
                ],
            },
        ],
        "artifactStore": {"type": "S3", "location": "codepipeline-us-east-2-250656481468"},
        "name": "MyFirstPipeline",
        "version": 7,
    },
    "metadata": {
        "pipelineArn": "arn:aws:codepipeline:us-east-2:111111111111:MyFirstPipeline",
        "updated": 1501626591.112,
        "created": 1501626591.112,
    },
}

# A V2 pipeline in the shape of the user guide's variables and triggers examples
# (reference-variables.html, pipelines-filter.html): a CodeCommit source with a namespace,
# CodeBuild reading its variables, an approval, regions, artifact stores per region,
# QUEUED mode, pipeline variables, push tag filters and pull-request filters.
V2_PIPELINE: dict[str, Any] = {
    "name": "MyVariablesPipeline",
    "roleArn": ROLE,
    "artifactStores": {
        "us-east-2": {"type": "S3", "location": "codepipeline-us-east-2-123456789012"}
    },
    "stages": [
        {
            "name": "Source",
            "actions": [
                {
                    "name": "Source",
                    "actionTypeId": {
                        "category": "Source",
                        "owner": "AWS",
                        "provider": "CodeCommit",
                        "version": "1",
                    },
                    "runOrder": 1,
                    "configuration": {
                        "BranchName": "main",
                        "OutputArtifactFormat": "CODE_ZIP",
                        "PollForSourceChanges": "false",
                        "RepositoryName": "MyDemoRepo",
                    },
                    "outputArtifacts": [{"name": "SourceArtifact"}],
                    "inputArtifacts": [],
                    "region": "us-east-2",
                    "namespace": "SourceVariables",
                }
            ],
        },
        {
            "name": "Build",
            "actions": [
                {
                    "name": "Build",
                    "actionTypeId": {
                        "category": "Build",
                        "owner": "AWS",
                        "provider": "CodeBuild",
                        "version": "1",
                    },
                    "runOrder": 1,
                    "configuration": {
                        "EnvironmentVariables": json.dumps(
                            [
                                {
                                    "name": "Execution_ID",
                                    "value": "#{codepipeline.PipelineExecutionId}",
                                    "type": "PLAINTEXT",
                                },
                                {
                                    "name": "Commit_ID",
                                    "value": "#{SourceVariables.CommitId}",
                                    "type": "PLAINTEXT",
                                },
                                {"name": "Stage", "value": "#{variables.Stage}"},
                            ]
                        ),
                        "ProjectName": "env-var-test",
                    },
                    "outputArtifacts": [{"name": "BuildArtifact"}],
                    "inputArtifacts": [{"name": "SourceArtifact"}],
                    "region": "us-east-2",
                    "namespace": "BuildVariables",
                }
            ],
        },
        {
            "name": "Approve",
            "actions": [
                {
                    "name": "Approval",
                    "actionTypeId": {
                        "category": "Approval",
                        "owner": "AWS",
                        "provider": "Manual",
                        "version": "1",
                    },
                    "runOrder": 1,
                    "configuration": {
                        "CustomData": "Commit #{SourceVariables.CommitId} built",
                        "ExternalEntityLink": "https://example.com/review",
                    },
                    "outputArtifacts": [],
                    "inputArtifacts": [],
                    "region": "us-east-2",
                }
            ],
        },
    ],
    "version": 3,
    "executionMode": "QUEUED",
    "pipelineType": "V2",
    "variables": [
        {"name": "Stage", "defaultValue": "beta", "description": "where to deploy"},
        {"name": "Region"},
    ],
    "triggers": [
        {
            "providerType": "CodeStarSourceConnection",
            "gitConfiguration": {
                "sourceActionName": "Source",
                "push": [
                    {"tags": {"includes": ["v1*"], "excludes": ["v1-beta*"]}},
                    {
                        "branches": {"includes": ["main", "release/**"]},
                        "filePaths": {"includes": ["src/**"], "excludes": ["src/docs/**"]},
                    },
                ],
                "pullRequest": [
                    {
                        "events": ["OPEN", "UPDATED"],
                        "branches": {"includes": ["main*"]},
                        "filePaths": {"includes": ["src/**"]},
                    }
                ],
            },
        }
    ],
}


def base() -> dict[str, Any]:
    """A small valid V2 pipeline: CodeCommit -> CodeBuild (x2, in order) -> Script."""
    return copy.deepcopy(
        {
            "name": "demo",
            "pipelineType": "V2",
            "variables": [{"name": "Env", "defaultValue": "staging"}],
            "stages": [
                {
                    "name": "Source",
                    "actions": [
                        {
                            "name": "Source",
                            "actionTypeId": _type("Source", "AWS", "CodeCommit"),
                            "configuration": {"RepositoryName": "demo", "BranchName": "main"},
                            "outputArtifacts": [{"name": "SourceOut"}],
                            "namespace": "SourceVariables",
                        }
                    ],
                },
                {
                    "name": "Build",
                    "actions": [
                        {
                            "name": "Build",
                            "actionTypeId": _type("Build", "AWS", "CodeBuild"),
                            "inputArtifacts": [{"name": "SourceOut"}],
                            "outputArtifacts": [{"name": "BuildOut"}],
                            "namespace": "BuildVariables",
                        },
                        {
                            "name": "Test",
                            "actionTypeId": _type("Test", "AWS", "CodeBuild"),
                            "runOrder": 2,
                            "inputArtifacts": [{"name": "BuildOut"}],
                            "configuration": {"BuildSpec": "ci/test.yml"},
                        },
                    ],
                },
                {
                    "name": "Deploy",
                    "actions": [
                        {
                            "name": "Deploy",
                            "actionTypeId": _type("Deploy", "Custom", "Script"),
                            "inputArtifacts": [{"name": "BuildOut"}],
                            "configuration": {"Commands": "./deploy.sh #{variables.Env}"},
                        }
                    ],
                },
            ],
        }
    )


def _type(category: str, owner: str, provider: str) -> dict[str, str]:
    return {"category": category, "owner": owner, "provider": provider, "version": "1"}


def action_type(category: str, owner: str, provider: str) -> dict[str, str]:
    """An actionTypeId, version 1."""
    return _type(category, owner, provider)
