"""Errors of reading and writing repository content; `aws_type` is the model's name.

Each class is a `ContentError` (a `StoreError`) and one category of `gitserver.errors`.
The store's `CommitNotFound`, `BranchNotFound` and `InvalidCommitId` serve content too
(import them from `gitserver.store.errors`: there is one of each). Where an operation
names a condition differently, the instance carries the name (GetCommit:
`CommitNotFound(..., aws_type="CommitIdDoesNotExistException")`).

ContentError (a StoreError)
├── NotFound       FileNotFound, FolderNotFound, PathNotFound, BlobNotFound,
│                  ParentCommitNotFound
├── Conflict       ParentCommitIdOutdated (PutFile/CreateCommit's compare-and-swap),
│                  SameFileContent / NoChange (the tree already is what was asked),
│                  BranchNameIsTagName, FileNameConflictsWithDirectoryName,
│                  DirectoryNameConflictsWithFileName, FilePathConflictsWithSubmodulePath
├── LimitExceeded  FileTooLarge (to return), FileContentTooLarge, FolderContentTooLarge,
│                  MaximumFileEntriesExceeded, CommitIdsLimitExceeded
├── InvalidInput   PathRequired, InvalidPath, InvalidCommit, InvalidBlobId, the
│                  ParentCommitId rules, the entry rules of CreateCommit, NameLength/
│                  CommitMessageLength/InvalidEmail, InvalidMaxResults
│   └── ObjectsRefused  objects git's push checks (fsck) refuse
└── (from store/errors.py) CommitNotFound, BranchNotFound (NotFound), InvalidCommitId (InvalidInput)
Every class is raised with a client-safe message.
"""

from __future__ import annotations

from gitserver.errors import Conflict, DomainError, InvalidInput, LimitExceeded, NotFound
from gitserver.store.errors import StoreError


class ContentError(StoreError):
    """Base class of content errors (raise a subclass)."""


def _error(name: str, category: type[DomainError]) -> type[ContentError]:
    return type(name.removesuffix("Exception"), (ContentError, category), {"aws_type": name})


PathRequired = _error("PathRequiredException", InvalidInput)
InvalidPath = _error("InvalidPathException", InvalidInput)
FileNotFound = _error("FileDoesNotExistException", NotFound)
FolderNotFound = _error("FolderDoesNotExistException", NotFound)
PathNotFound = _error("PathDoesNotExistException", NotFound)
InvalidCommit = _error("InvalidCommitException", InvalidInput)
BlobNotFound = _error("BlobIdDoesNotExistException", NotFound)
InvalidBlobId = _error("InvalidBlobIdException", InvalidInput)
FileTooLarge = _error("FileTooLargeException", LimitExceeded)
ParentCommitIdRequired = _error("ParentCommitIdRequiredException", InvalidInput)
InvalidParentCommitId = _error("InvalidParentCommitIdException", InvalidInput)
ParentCommitNotFound = _error("ParentCommitDoesNotExistException", NotFound)
ParentCommitIdOutdated = _error("ParentCommitIdOutdatedException", Conflict)
BranchNameIsTagName = _error("BranchNameIsTagNameException", Conflict)
SameFileContent = _error("SameFileContentException", Conflict)
NoChange = _error("NoChangeException", Conflict)
FileContentRequired = _error("FileContentRequiredException", InvalidInput)
FileContentTooLarge = _error("FileContentSizeLimitExceededException", LimitExceeded)
FolderContentTooLarge = _error("FolderContentSizeLimitExceededException", LimitExceeded)
FileNameConflictsWithDirectoryName = _error("FileNameConflictsWithDirectoryNameException", Conflict)
DirectoryNameConflictsWithFileName = _error("DirectoryNameConflictsWithFileNameException", Conflict)
FilePathConflictsWithSubmodulePath = _error("FilePathConflictsWithSubmodulePathException", Conflict)
FileEntryRequired = _error("FileEntryRequiredException", InvalidInput)
MaximumFileEntriesExceeded = _error("MaximumFileEntriesExceededException", LimitExceeded)
PutFileEntryConflict = _error("PutFileEntryConflictException", InvalidInput)
SourceFileOrContentRequired = _error("SourceFileOrContentRequiredException", InvalidInput)
FileContentAndSourceFileSpecified = _error(
    "FileContentAndSourceFileSpecifiedException", InvalidInput
)
SamePathRequest = _error("SamePathRequestException", InvalidInput)
FileModeRequired = _error("FileModeRequiredException", InvalidInput)
RestrictedSourceFile = _error("RestrictedSourceFileException", InvalidInput)
InvalidFileMode = _error("InvalidFileModeException", InvalidInput)
NameLengthExceeded = _error("NameLengthExceededException", InvalidInput)
InvalidEmail = _error("InvalidEmailException", InvalidInput)
CommitMessageLengthExceeded = _error("CommitMessageLengthExceededException", InvalidInput)
CommitIdsLimitExceeded = _error("CommitIdsLimitExceededException", LimitExceeded)
InvalidMaxResults = _error("InvalidMaxResultsException", InvalidInput)


class ObjectsRefused(ContentError, InvalidInput):
    """Objects the server built that `git index-pack --strict` refuses, as it would in a push.

    `checks` are git's fsck message ids (`hasDotgit`, `gitmodulesName`, ...). CodeCommit's
    model has no content-validation error for PutFile, CreateCommit or DeleteFile; every
    check git makes on a tree or a `.gitmodules` is about what a path may be or hold, and
    `InvalidPathException` is modeled for all three, so it is the name. A caller whose
    operation does not model it (a merge) passes its own `aws_type`.
    """

    aws_type = "InvalidPathException"

    def __init__(
        self, message: str, checks: tuple[str, ...] = (), aws_type: str | None = None
    ) -> None:
        super().__init__(message, aws_type)
        self.checks = checks


# --- Merges (content/merges.py, api/ops/merges.py) -------------------------------------
ManualMergeRequired = _error("ManualMergeRequiredException", Conflict)
CommitRequired = _error("CommitRequiredException", InvalidInput)
MergeOptionRequired = _error("MergeOptionRequiredException", InvalidInput)
InvalidMergeOption = _error("InvalidMergeOptionException", InvalidInput)
InvalidConflictDetailLevel = _error("InvalidConflictDetailLevelException", InvalidInput)
InvalidConflictResolutionStrategy = _error(
    "InvalidConflictResolutionStrategyException", InvalidInput
)
InvalidConflictResolution = _error("InvalidConflictResolutionException", InvalidInput)
MaximumConflictResolutionEntriesExceeded = _error(
    "MaximumConflictResolutionEntriesExceededException", LimitExceeded
)
MultipleConflictResolutionEntries = _error(
    "MultipleConflictResolutionEntriesException", InvalidInput
)
ReplacementTypeRequired = _error("ReplacementTypeRequiredException", InvalidInput)
InvalidReplacementType = _error("InvalidReplacementTypeException", InvalidInput)
ReplacementContentRequired = _error("ReplacementContentRequiredException", InvalidInput)
InvalidReplacementContent = _error("InvalidReplacementContentException", InvalidInput)
InvalidTargetBranch = _error("InvalidTargetBranchException", InvalidInput)


# --- Merge conflicts (content/conflicts.py, api/ops/conflicts.py) ----------------------
MaximumFileContentToLoadExceeded = _error(
    "MaximumFileContentToLoadExceededException", LimitExceeded
)
InvalidMaxConflictFiles = _error("InvalidMaxConflictFilesException", InvalidInput)
InvalidMaxMergeHunks = _error("InvalidMaxMergeHunksException", InvalidInput)
