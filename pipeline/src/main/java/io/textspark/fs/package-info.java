/** File-system plumbing shared by every stage: Hadoop paths, atomic commits, downloads. */
package io.textspark.fs;
