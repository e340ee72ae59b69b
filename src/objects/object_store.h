// S3 semantics over local files: buckets, objects and their versions, blobs
// written durably and atomically, listing in key order. Object bytes live in
// immutable blob files, everything else in the meta store
// (docs/formats/objects.md).
//
// Thread-safety: every method may be called from any thread. Methods block on
// disk and on the meta store: call them off the I/O threads.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/file_slice.h"
#include "common/status.h"
#include "io/file_system.h"
#include "meta/store.h"
#include "objects/blob_store.h"

namespace eventlake::objects {

struct BucketInfo {
  std::string name;
  int64_t created_ms = 0;
  std::string region;
  std::string versioning;  // "" (never enabled), "Enabled" or "Suspended"
};

// What a client said about an object when it wrote it, returned as it was given.
struct ObjectAttributes {
  std::string content_type;  // empty: binary/octet-stream
  std::string content_encoding, content_disposition, content_language, cache_control, expires;
  std::map<std::string, std::string> user_metadata;  // x-amz-meta-*, names in lower case
  std::string storage_class = "STANDARD";
  std::string checksum_algorithm;  // CRC32, CRC32C, CRC64NVME, SHA1, SHA256, or empty
  std::string checksum_value;      // base64
  std::string checksum_type;       // FULL_OBJECT or COMPOSITE
  std::string sse;                 // AES256, aws:kms, ... as recorded
  std::string sse_kms_key_id;
  std::map<std::string, std::string> tags;
  int parts_count = 0;  // multipart uploads: how many parts
};

struct ObjectVersion {
  std::string key;
  std::string version_id;  // "null" when written without versioning
  bool latest = false;
  bool delete_marker = false;
  uint64_t size = 0;
  std::string etag;  // with the quotes
  int64_t last_modified_ms = 0;
  ObjectAttributes attributes;
};

// Reads an object's bytes (a range of them) across its blobs.
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  // Up to `n` bytes; 0 at the end.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  // Or the next at most `n` bytes as a slice of an open local file, taken as
  // read (fd -1 and nothing taken when they are not in one; 0 length at the end).
  virtual Result<FileSlice> NextFileSlice(size_t n) = 0;
};

// Conditions on the current version, checked in the same transaction as the write.
struct WriteConditions {
  bool if_none_match_any = false;  // If-None-Match: *
  std::string if_match;            // an ETag (with quotes), or empty
};

struct ListRequest {
  std::string prefix, delimiter;
  std::string start_after;       // keys after this (V2 StartAfter, V1 Marker)
  bool start_after_prefix = false;  // start_after is a common prefix: skip every key under it
  int max_keys = 1000;
};
struct ListResult {
  std::vector<ObjectVersion> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string last;              // the last key or prefix returned, for the next page
  bool last_is_prefix = false;
};

struct VersionListRequest {
  std::string prefix, delimiter;
  std::string key_marker, version_id_marker;
  int max_keys = 1000;
};
struct VersionListResult {
  std::vector<ObjectVersion> versions;  // delete markers included (delete_marker set)
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_key_marker, next_version_id_marker;
};

struct DeleteResult {
  std::string version_id;    // of the version removed, or of the delete marker made
  bool delete_marker = false;  // a delete marker was made, or the version removed was one
};

struct UploadInfo {
  std::string upload_id, key;
  int64_t initiated_ms = 0;
  ObjectAttributes attributes;  // what the object will have (checksum_algorithm/type: the upload's)
};

struct PartInfo {
  int part_number = 0;
  uint64_t size = 0;
  std::string etag;  // with the quotes
  int64_t last_modified_ms = 0;
  std::string checksum;  // base64, in the upload's checksum algorithm; empty when none
};

// A part named in CompleteMultipartUpload.
struct CompletePart {
  int part_number = 0;
  std::string etag;
  std::string checksum;  // as the client states it; empty when not stated
};

struct UploadListResult {
  std::vector<UploadInfo> uploads;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_key_marker, next_upload_id_marker;
};

// One lifecycle rule, as S3's LifecycleConfiguration states it. Days count
// from an object's creation (or, for noncurrent versions, from when a newer
// version replaced it), and fall due at the next midnight UTC, as in S3.
struct LifecycleRule {
  std::string id;
  bool enabled = true;
  // Filter: all of these must hold.
  std::string prefix;
  std::map<std::string, std::string> tags;
  std::optional<uint64_t> size_greater_than, size_less_than;
  // Actions.
  std::optional<int> expiration_days;
  std::optional<int64_t> expiration_date_ms;
  bool expired_object_delete_marker = false;
  std::optional<int> noncurrent_days;
  std::optional<int> newer_noncurrent_versions;
  std::optional<int> abort_incomplete_upload_days;
  struct Transition {
    std::optional<int> days;
    std::optional<int64_t> date_ms;
    std::string storage_class;
  };
  std::vector<Transition> transitions;
  // Noncurrent versions move too, some days after a newer version replaced them.
  struct NoncurrentTransition {
    int days = 0;
    std::string storage_class;
  };
  std::vector<NoncurrentTransition> noncurrent_transitions;
};

// What one pass of the lifecycle rules did.
struct LifecycleReport {
  int expired = 0;              // current versions expired (deleted, or hidden by a delete marker)
  int noncurrent_removed = 0;   // noncurrent versions removed
  int markers_removed = 0;      // expired delete markers removed
  int uploads_aborted = 0;
  int transitioned = 0;         // versions moved to the cold tier
  uint64_t transitioned_bytes = 0;
};

struct ObjectStoreOptions {
  std::string data_dir;  // objects live in <data_dir>/objects
  std::string cold_dir;  // the cold tier; empty: <data_dir>/objects/cold
  // Where the bytes go; null: local files under data_dir and cold_dir. Must outlive the store.
  BlobStore* blob_store = nullptr;
  std::string region = "us-east-1";
  std::vector<std::string> zones;  // buckets created at start when missing
  // How often the background worker applies lifecycle rules; zero: never
  // (ApplyLifecycle() still does it on demand).
  std::chrono::milliseconds lifecycle_interval{std::chrono::minutes(10)};
};

class ObjectStore {
 public:
  static std::vector<meta::Migration> Migrations();
  // `meta`, `fs` and `clock` must outlive the store.
  static Result<std::unique_ptr<ObjectStore>> Open(meta::Store& meta, io::FileSystem& fs, const Clock& clock,
                                                   ObjectStoreOptions options);
  ~ObjectStore();

  // Buckets. Names are checked by the caller (the API knows the rules).
  Status CreateBucket(const std::string& name, const std::string& region);
  Status DeleteBucket(const std::string& name);  // FailedPrecondition (BucketNotEmpty) when not empty
  Result<BucketInfo> GetBucket(const std::string& name) const;
  std::vector<BucketInfo> ListBuckets() const;
  Status SetVersioning(const std::string& bucket, const std::string& status);
  // The bucket's stored configuration document (tags, lifecycle, ...), by part.
  Result<std::string> GetBucketConfig(const std::string& bucket, const std::string& part) const;
  Status SetBucketConfig(const std::string& bucket, const std::string& part, const std::string& value);

  // Writing an object: NewBlob, Write its bytes, then PutObject (which commits the blob).
  Result<std::unique_ptr<BlobWriter>> NewBlob();
  // Makes the blob durable and the new version current, atomically. The
  // writer is consumed. Returns the version written.
  Result<ObjectVersion> PutObject(const std::string& bucket, const std::string& key, std::unique_ptr<BlobWriter> blob,
                                  const std::string& etag, ObjectAttributes attributes,
                                  const WriteConditions& conditions = {});
  // A version (the current one when `version_id` is empty), which may be a
  // delete marker (the caller decides what that means); NotFound when the key
  // or version does not exist.
  Result<ObjectVersion> Head(const std::string& bucket, const std::string& key, const std::string& version_id) const;
  // Reads `length` bytes from `offset` of a version.
  // A local file holding exactly the version's bytes, for readers that open
  // files themselves: the blob's own file, or, for an object assembled from
  // several parts, a file joined from them on first use (kept while the data
  // lives). The file must only be read. Unimplemented for backends without
  // local files.
  Result<std::string> LocalFile(const std::string& bucket, const ObjectVersion& version);
  Result<std::unique_ptr<ObjectReader>> Read(const std::string& bucket, const ObjectVersion& version, uint64_t offset,
                                             uint64_t length) const;
  Result<DeleteResult> DeleteObject(const std::string& bucket, const std::string& key, const std::string& version_id);
  Status SetObjectTags(const std::string& bucket, const std::string& key, const std::string& version_id,
                       const std::map<std::string, std::string>& tags, std::string* version_out);

  // Multipart uploads. Parts are blobs of their own until Complete makes
  // them, in the order given, the bytes of a new version (nothing is copied).
  Result<UploadInfo> CreateUpload(const std::string& bucket, const std::string& key, ObjectAttributes attributes);
  Result<UploadInfo> GetUpload(const std::string& bucket, const std::string& key, const std::string& upload_id) const;
  // Stores (or replaces) one part.
  Result<PartInfo> PutPart(const std::string& bucket, const std::string& key, const std::string& upload_id,
                           int part_number, std::unique_ptr<BlobWriter> blob, const std::string& etag,
                           const std::string& checksum);
  Result<std::vector<PartInfo>> ListParts(const std::string& bucket, const std::string& key,
                                          const std::string& upload_id, int after_part, int max_parts,
                                          bool* truncated) const;
  Status AbortUpload(const std::string& bucket, const std::string& key, const std::string& upload_id);
  // `etag` and `attributes` are what the caller computed from the parts;
  // `min_part_bytes` is the smallest a part other than the last may be.
  Result<ObjectVersion> CompleteUpload(const std::string& bucket, const std::string& key,
                                       const std::string& upload_id, const std::vector<CompletePart>& parts,
                                       const std::string& etag, ObjectAttributes attributes,
                                       uint64_t min_part_bytes, const WriteConditions& conditions = {});
  Result<UploadListResult> ListUploads(const std::string& bucket, const std::string& prefix,
                                       const std::string& delimiter, const std::string& key_marker,
                                       const std::string& upload_id_marker, int max_uploads) const;
  // The byte ranges of a completed multipart version's parts, in order.
  Result<std::vector<uint64_t>> PartSizes(const std::string& bucket, const ObjectVersion& version) const;

  // Lifecycle rules of a bucket (empty: none).
  Status SetLifecycle(const std::string& bucket, const std::vector<LifecycleRule>& rules);
  Result<std::vector<LifecycleRule>> GetLifecycle(const std::string& bucket) const;
  // Applies every bucket's rules as of the clock's now, and reports what it did.
  Result<LifecycleReport> ApplyLifecycle();
  // Stops the background workers. Idempotent; the destructor calls it.
  void Stop();
  // Waits until the files of the data released so far are removed (they go on
  // a background thread, after the request that released them answers).
  void WaitForRemovals();

  Result<ListResult> List(const std::string& bucket, const ListRequest& request) const;
  Result<VersionListResult> ListVersions(const std::string& bucket, const VersionListRequest& request) const;

 private:
  struct Impl;
  explicit ObjectStore(std::unique_ptr<Impl> impl);
  // DeleteObject; with `expected_seq`, only while the version looked at (the
  // named one, or the current one) is still that row. `done` says whether it acted.
  Result<DeleteResult> Delete(const std::string& bucket, const std::string& key, const std::string& version_id,
                              std::optional<int64_t> expected_seq, bool* done);
  Result<bool> DeleteIfUnchanged(const std::string& bucket, const std::string& key, const std::string& version_id,
                                 int64_t expected_seq);
  // One lifecycle rule on the versions of one key (newest first, with their
  // rows' seq and blobs); failures go to `tolerate` (which logs them).
  void ApplyRuleToKey(const std::string& bucket, const LifecycleRule& rule, const std::vector<ObjectVersion>& versions,
                      const std::vector<int64_t>& seqs, const std::vector<std::string>& blobs, int64_t now,
                      LifecycleReport* report, const std::function<bool(const Status&, const std::string&)>& tolerate);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eventlake::objects
