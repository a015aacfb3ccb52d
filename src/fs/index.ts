// The file-system layer's public surface: lstat -> restic node, directory listing and walking with
// restic's excludes, files-from lists, sparse writes for restores and the open-file log.

export { accountNames, loadAccountNames, type AccountNames } from './account-names.js';
export { extendedAttributeSupport, readExtendedAttributes } from './extended-attributes.js';
export { nodeFromStat, nodeTypeOfStat, type NodeFromStatOptions } from './node-from-stat.js';
export { listDirectory } from './list-directory.js';
export { absolutePath, baseName, dirName, joinPath, pathBytes } from './paths.js';
export { DirectoryRules, ExcludeRules, readPatternFile, type ExcludeContext, type ExcludeOptions } from './exclude-rules.js';
export { matchesPath, parsePattern, PatternList, type Pattern } from './patterns.js';
export { CACHEDIR_TAG, parseTagRule, type TagRule } from './tag-files.js';
export { parseRawNames, readFilesFrom, type FilesFromKind } from './files-from.js';
export { globFiles } from './glob-files.js';
export { walk, type WalkEntry } from './walk.js';
export { OpenFileMonitor, type OpenFileMonitorOptions, type OpenFileScanStats } from './open-files.js';
export { isSparse, SparseWriter } from './sparse.js';
export { ignoreWarnings, type FsWarning, type WarningSink } from './warning.js';
