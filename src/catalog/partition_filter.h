// Glue's partition predicate language (GetPartitions Expression): a SQL WHERE
// clause over the partition keys with =, <>, !=, <, <=, >, >=, AND, OR, NOT,
// IN (...), BETWEEN ... AND ..., LIKE and IS [NOT] NULL. Values compare as
// numbers when the key's type is numeric, otherwise as strings (which orders
// ISO dates and timestamps correctly).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "common/status.h"

namespace eventlake::catalog {

class PartitionFilter {
 public:
  // InvalidArgument for a malformed expression or a column that is not a
  // partition key. Expressions nest at most 100 deep and are at most 2,048 bytes.
  static Result<PartitionFilter> Parse(std::string_view expression, const std::vector<Column>& keys);
  PartitionFilter(PartitionFilter&&) noexcept;
  PartitionFilter& operator=(PartitionFilter&&) noexcept;
  ~PartitionFilter();

  // Whether a partition with these values (in key order) matches.
  bool Matches(const std::vector<std::string>& values) const;

  struct Node;

 private:
  explicit PartitionFilter(std::unique_ptr<Node> root);
  std::unique_ptr<Node> root_;  // null: every partition matches
  std::vector<bool> numeric_;   // by key: compared as numbers
};

}  // namespace eventlake::catalog
