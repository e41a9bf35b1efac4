"""Errors of reading and writing repository content; `aws_type` is the model's name.

ContentError (a StoreError)
├── InvalidPath / PathRequired             a path CodeCommit would refuse
├── FileNotFound / FolderNotFound          nothing of that kind at the path
├── InvalidCommit / CommitNotFound         a commit specifier that names nothing
├── BlobNotFound / InvalidBlobId           GetBlob's two failures
├── FileTooLarge                           more than the configured size to return
├── ParentCommit*                          PutFile/CreateCommit's compare-and-swap
├── SameFileContent / NoChange             a write that changes nothing
├── *Conflicts*                            a file where a folder is, or the reverse
├── ObjectsRefused                         objects git's push checks (fsck) refuse
└── (the entry-level errors of CreateCommit)
Every class is raised with a client-safe message.
"""

from __future__ import annotations

from gitserver.store.errors import StoreError


class ContentError(StoreError):
    """Base class. Some conditions have a different name per operation: `aws_type`
    can be given per instance for those (GetCommit's `CommitIdDoesNotExistException`)."""

    aws_type = "InvalidParameterException"

    def __init__(self, message: str, aws_type: str | None = None) -> None:
        super().__init__(message)
        if aws_type is not None:
            self.aws_type = aws_type


def _error(name: str) -> type[ContentError]:
    return type(name.removesuffix("Exception"), (ContentError,), {"aws_type": name})


PathRequired = _error("PathRequiredException")
InvalidPath = _error("InvalidPathException")
FileNotFound = _error("FileDoesNotExistException")
FolderNotFound = _error("FolderDoesNotExistException")
PathNotFound = _error("PathDoesNotExistException")
InvalidCommit = _error("InvalidCommitException")
CommitNotFound = _error("CommitDoesNotExistException")
InvalidCommitId = _error("InvalidCommitIdException")
BlobNotFound = _error("BlobIdDoesNotExistException")
InvalidBlobId = _error("InvalidBlobIdException")
FileTooLarge = _error("FileTooLargeException")
ParentCommitIdRequired = _error("ParentCommitIdRequiredException")
InvalidParentCommitId = _error("InvalidParentCommitIdException")
ParentCommitNotFound = _error("ParentCommitDoesNotExistException")
ParentCommitIdOutdated = _error("ParentCommitIdOutdatedException")
BranchNotFound = _error("BranchDoesNotExistException")
BranchNameIsTagName = _error("BranchNameIsTagNameException")
SameFileContent = _error("SameFileContentException")
NoChange = _error("NoChangeException")
FileContentRequired = _error("FileContentRequiredException")
FileContentTooLarge = _error("FileContentSizeLimitExceededException")
FolderContentTooLarge = _error("FolderContentSizeLimitExceededException")
FileNameConflictsWithDirectoryName = _error("FileNameConflictsWithDirectoryNameException")
DirectoryNameConflictsWithFileName = _error("DirectoryNameConflictsWithFileNameException")
FilePathConflictsWithSubmodulePath = _error("FilePathConflictsWithSubmodulePathException")
FileEntryRequired = _error("FileEntryRequiredException")
MaximumFileEntriesExceeded = _error("MaximumFileEntriesExceededException")
PutFileEntryConflict = _error("PutFileEntryConflictException")
SourceFileOrContentRequired = _error("SourceFileOrContentRequiredException")
FileContentAndSourceFileSpecified = _error("FileContentAndSourceFileSpecifiedException")
SamePathRequest = _error("SamePathRequestException")
FileModeRequired = _error("FileModeRequiredException")
RestrictedSourceFile = _error("RestrictedSourceFileException")
InvalidFileMode = _error("InvalidFileModeException")
NameLengthExceeded = _error("NameLengthExceededException")
InvalidEmail = _error("InvalidEmailException")
CommitMessageLengthExceeded = _error("CommitMessageLengthExceededException")
CommitIdsLimitExceeded = _error("CommitIdsLimitExceededException")
InvalidMaxResults = _error("InvalidMaxResultsException")


class ObjectsRefused(ContentError):
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
