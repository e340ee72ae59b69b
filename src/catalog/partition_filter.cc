#include "catalog/partition_filter.h"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <utility>

#include "common/strings.h"

namespace eventlake::catalog {

namespace {

constexpr size_t kMaxExpressionBytes = 2048;
constexpr int kMaxDepth = 100;
constexpr std::string_view kHiveNull = "__HIVE_DEFAULT_PARTITION__";

enum class Tok { kEnd, kIdent, kString, kNumber, kOp, kLParen, kRParen, kComma, kKeyword };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // identifiers as written (unquoted), keywords upper case
};

bool IsNumericType(std::string_view type) {
  std::string t = AsciiLower(type);
  for (std::string_view n : {"int", "integer", "bigint", "smallint", "tinyint", "long", "double", "float", "real"}) {
    if (t == n) return true;
  }
  return t.rfind("decimal", 0) == 0;
}

std::optional<long double> AsNumber(std::string_view s) {
  s = TrimWhitespace(s);
  if (s.empty()) return std::nullopt;
  std::string copy(s);
  char* end = nullptr;
  long double v = std::strtold(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return std::nullopt;
  return v;
}

// SQL LIKE: % any run, _ any one character (bytes).
bool Like(std::string_view s, std::string_view p) {
  size_t si = 0, pi = 0, star_p = std::string_view::npos, star_s = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '_' || p[pi] == s[si])) {
      ++si;
      ++pi;
    } else if (pi < p.size() && p[pi] == '%') {
      star_p = pi++;
      star_s = si;
    } else if (star_p != std::string_view::npos) {
      pi = star_p + 1;
      si = ++star_s;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '%') ++pi;
  return pi == p.size();
}

}  // namespace

struct Operand {
  int column = -1;  // a partition key's index, or -1 for a literal
  std::string literal;
};

struct PartitionFilter::Node {
  enum class Kind { kAnd, kOr, kNot, kCompare, kIn, kBetween, kLike, kIsNull } kind;
  std::unique_ptr<Node> left, right;  // kAnd, kOr; kNot uses left
  std::string op;                     // kCompare: = <> < <= > >=
  bool negated = false;               // NOT IN, NOT BETWEEN, NOT LIKE, IS NOT NULL
  Operand subject;
  std::vector<Operand> args;  // the right side, the IN list, BETWEEN bounds, the LIKE pattern
};

namespace {

class Parser {
 public:
  Parser(std::string_view text, const std::vector<Column>& keys) : text_(text), keys_(keys) {}

  Result<std::unique_ptr<PartitionFilter::Node>> Parse() {
    EL_RETURN_IF_ERROR(Next());
    EL_ASSIGN_OR_RETURN(auto root, Or(0));
    if (tok_.kind != Tok::kEnd) return Error("unexpected '" + tok_.text + "'");
    return root;
  }

 private:
  using NodePtr = std::unique_ptr<PartitionFilter::Node>;
  using Kind = PartitionFilter::Node::Kind;

  static Status Error(const std::string& what) {
    return Status::InvalidArgument("Invalid partition expression: " + what).WithType("InvalidInputException");
  }

  Status Next() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    tok_ = Token{};
    if (pos_ >= text_.size()) return Status::Ok();
    const char c = text_[pos_];
    if (c == '(' || c == ')' || c == ',') {
      tok_.kind = c == '(' ? Tok::kLParen : c == ')' ? Tok::kRParen : Tok::kComma;
      tok_.text = std::string(1, c);
      ++pos_;
      return Status::Ok();
    }
    if (c == '\'') {  // a string; '' is a quote
      std::string s;
      for (++pos_;; ++pos_) {
        if (pos_ >= text_.size()) return Error("unterminated string");
        if (text_[pos_] == '\'') {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '\'') {
            s += '\'';
            ++pos_;
            continue;
          }
          ++pos_;
          break;
        }
        s += text_[pos_];
      }
      tok_ = {Tok::kString, std::move(s)};
      return Status::Ok();
    }
    if (c == '`' || c == '"') {  // a quoted column name
      const size_t end = text_.find(c, pos_ + 1);
      if (end == std::string_view::npos) return Error("unterminated quoted name");
      tok_ = {Tok::kIdent, std::string(text_.substr(pos_ + 1, end - pos_ - 1))};
      pos_ = end + 1;
      return Status::Ok();
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || (c == '-' && pos_ + 1 < text_.size() &&
                                                        std::isdigit(static_cast<unsigned char>(text_[pos_ + 1])))) {
      size_t end = pos_ + 1;
      while (end < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[end])) || text_[end] == '.')) ++end;
      tok_ = {Tok::kNumber, std::string(text_.substr(pos_, end - pos_))};
      pos_ = end;
      return Status::Ok();
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t end = pos_ + 1;
      while (end < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '_')) ++end;
      std::string word(text_.substr(pos_, end - pos_));
      pos_ = end;
      std::string upper = word;
      for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      for (const char* k : {"AND", "OR", "NOT", "IN", "BETWEEN", "LIKE", "IS", "NULL"}) {
        if (upper == k) {
          tok_ = {Tok::kKeyword, upper};
          return Status::Ok();
        }
      }
      tok_ = {Tok::kIdent, std::move(word)};
      return Status::Ok();
    }
    for (std::string_view op : {"<>", "!=", "<=", ">=", "=", "<", ">"}) {
      if (text_.substr(pos_, op.size()) == op) {
        tok_ = {Tok::kOp, std::string(op == "!=" ? "<>" : op)};
        pos_ += op.size();
        return Status::Ok();
      }
    }
    return Error(std::string("unexpected character '") + c + "'");
  }

  bool IsKeyword(const char* k) const { return tok_.kind == Tok::kKeyword && tok_.text == k; }

  Result<NodePtr> Or(int depth) {
    if (depth > kMaxDepth) return Error("nested too deeply");
    EL_ASSIGN_OR_RETURN(NodePtr left, And(depth + 1));
    while (IsKeyword("OR")) {
      EL_RETURN_IF_ERROR(Next());
      EL_ASSIGN_OR_RETURN(NodePtr right, And(depth + 1));
      left = Combine(Kind::kOr, std::move(left), std::move(right));
    }
    return left;
  }

  Result<NodePtr> And(int depth) {
    EL_ASSIGN_OR_RETURN(NodePtr left, Not(depth + 1));
    while (IsKeyword("AND")) {
      EL_RETURN_IF_ERROR(Next());
      EL_ASSIGN_OR_RETURN(NodePtr right, Not(depth + 1));
      left = Combine(Kind::kAnd, std::move(left), std::move(right));
    }
    return left;
  }

  Result<NodePtr> Not(int depth) {
    if (depth > kMaxDepth) return Error("nested too deeply");
    if (IsKeyword("NOT")) {
      EL_RETURN_IF_ERROR(Next());
      EL_ASSIGN_OR_RETURN(NodePtr inner, Not(depth + 1));
      auto n = std::make_unique<PartitionFilter::Node>();
      n->kind = Kind::kNot;
      n->left = std::move(inner);
      return n;
    }
    if (tok_.kind == Tok::kLParen) {
      EL_RETURN_IF_ERROR(Next());
      EL_ASSIGN_OR_RETURN(NodePtr inner, Or(depth + 1));
      if (tok_.kind != Tok::kRParen) return Error("missing ')'");
      EL_RETURN_IF_ERROR(Next());
      return inner;
    }
    return Predicate();
  }

  static NodePtr Combine(Kind kind, NodePtr left, NodePtr right) {
    auto n = std::make_unique<PartitionFilter::Node>();
    n->kind = kind;
    n->left = std::move(left);
    n->right = std::move(right);
    return n;
  }

  Result<Operand> Value() {
    Operand o;
    if (tok_.kind == Tok::kIdent) {
      for (size_t i = 0; i < keys_.size(); ++i) {
        if (EqualsIgnoreCase(keys_[i].name, tok_.text)) o.column = static_cast<int>(i);
      }
      if (o.column < 0) return Error("'" + tok_.text + "' is not a partition key");
    } else if (tok_.kind == Tok::kString || tok_.kind == Tok::kNumber) {
      o.literal = tok_.text;
    } else {
      return Error(tok_.kind == Tok::kEnd ? "unexpected end" : "unexpected '" + tok_.text + "'");
    }
    EL_RETURN_IF_ERROR(Next());
    return o;
  }

  Result<NodePtr> Predicate() {
    auto n = std::make_unique<PartitionFilter::Node>();
    EL_ASSIGN_OR_RETURN(n->subject, Value());
    if (tok_.kind == Tok::kOp) {
      n->kind = Kind::kCompare;
      n->op = tok_.text;
      EL_RETURN_IF_ERROR(Next());
      EL_ASSIGN_OR_RETURN(Operand rhs, Value());
      n->args.push_back(std::move(rhs));
      return n;
    }
    if (IsKeyword("IS")) {
      EL_RETURN_IF_ERROR(Next());
      if (IsKeyword("NOT")) {
        n->negated = true;
        EL_RETURN_IF_ERROR(Next());
      }
      if (!IsKeyword("NULL")) return Error("expected NULL after IS");
      EL_RETURN_IF_ERROR(Next());
      n->kind = Kind::kIsNull;
      return n;
    }
    if (IsKeyword("NOT")) {
      n->negated = true;
      EL_RETURN_IF_ERROR(Next());
    }
    if (IsKeyword("IN")) {
      n->kind = Kind::kIn;
      EL_RETURN_IF_ERROR(Next());
      if (tok_.kind != Tok::kLParen) return Error("expected '(' after IN");
      EL_RETURN_IF_ERROR(Next());
      for (;;) {
        EL_ASSIGN_OR_RETURN(Operand v, Value());
        n->args.push_back(std::move(v));
        if (tok_.kind == Tok::kComma) {
          EL_RETURN_IF_ERROR(Next());
          continue;
        }
        if (tok_.kind != Tok::kRParen) return Error("expected ')' to close IN");
        EL_RETURN_IF_ERROR(Next());
        return n;
      }
    }
    if (IsKeyword("BETWEEN")) {
      n->kind = Kind::kBetween;
      EL_RETURN_IF_ERROR(Next());
      EL_ASSIGN_OR_RETURN(Operand lo, Value());
      if (!IsKeyword("AND")) return Error("expected AND in BETWEEN");
      EL_RETURN_IF_ERROR(Next());
      EL_ASSIGN_OR_RETURN(Operand hi, Value());
      n->args.push_back(std::move(lo));
      n->args.push_back(std::move(hi));
      return n;
    }
    if (IsKeyword("LIKE")) {
      n->kind = Kind::kLike;
      EL_RETURN_IF_ERROR(Next());
      EL_ASSIGN_OR_RETURN(Operand pattern, Value());
      n->args.push_back(std::move(pattern));
      return n;
    }
    return Error(tok_.kind == Tok::kEnd ? "incomplete predicate" : "unexpected '" + tok_.text + "'");
  }

  std::string_view text_;
  size_t pos_ = 0;
  Token tok_;
  const std::vector<Column>& keys_;
};

struct Evaluator {
  const std::vector<std::string>& values;
  const std::vector<bool>& numeric;

  std::optional<std::string_view> Get(const Operand& o) const {
    if (o.column < 0) return std::string_view(o.literal);
    if (static_cast<size_t>(o.column) >= values.size() || values[o.column] == kHiveNull) return std::nullopt;
    return std::string_view(values[o.column]);
  }
  bool Numeric(const Operand& a, const Operand& b) const {
    auto is_num = [&](const Operand& o) { return o.column >= 0 && static_cast<size_t>(o.column) < numeric.size() && numeric[o.column]; };
    return is_num(a) || is_num(b);
  }
  // <0, 0, >0; nullopt when either side is null.
  std::optional<int> Compare(const Operand& a, const Operand& b) const {
    auto x = Get(a), y = Get(b);
    if (!x || !y) return std::nullopt;
    if (Numeric(a, b)) {
      auto nx = AsNumber(*x), ny = AsNumber(*y);
      if (nx && ny) return *nx < *ny ? -1 : *nx > *ny ? 1 : 0;
    }
    int c = x->compare(*y);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  bool Eval(const PartitionFilter::Node& n) const {
    using Kind = PartitionFilter::Node::Kind;
    switch (n.kind) {
      case Kind::kAnd:
        return Eval(*n.left) && Eval(*n.right);
      case Kind::kOr:
        return Eval(*n.left) || Eval(*n.right);
      case Kind::kNot:
        return !Eval(*n.left);
      case Kind::kCompare: {
        auto c = Compare(n.subject, n.args[0]);
        if (!c) return false;
        if (n.op == "=") return *c == 0;
        if (n.op == "<>") return *c != 0;
        if (n.op == "<") return *c < 0;
        if (n.op == "<=") return *c <= 0;
        if (n.op == ">") return *c > 0;
        return *c >= 0;
      }
      case Kind::kIn: {
        if (!Get(n.subject)) return false;
        bool found = false;
        for (const auto& a : n.args) {
          if (auto c = Compare(n.subject, a); c && *c == 0) found = true;
        }
        return found != n.negated;
      }
      case Kind::kBetween: {
        auto lo = Compare(n.subject, n.args[0]), hi = Compare(n.subject, n.args[1]);
        if (!lo || !hi) return false;
        return (*lo >= 0 && *hi <= 0) != n.negated;
      }
      case Kind::kLike: {
        auto s = Get(n.subject), p = Get(n.args[0]);
        if (!s || !p) return false;
        return Like(*s, *p) != n.negated;
      }
      case Kind::kIsNull:
        return !Get(n.subject).has_value() != n.negated;
    }
    return false;
  }
};

}  // namespace

PartitionFilter::PartitionFilter(std::unique_ptr<Node> root) : root_(std::move(root)) {}
PartitionFilter::PartitionFilter(PartitionFilter&&) noexcept = default;
PartitionFilter& PartitionFilter::operator=(PartitionFilter&&) noexcept = default;
PartitionFilter::~PartitionFilter() = default;

Result<PartitionFilter> PartitionFilter::Parse(std::string_view expression, const std::vector<Column>& keys) {
  if (expression.size() > kMaxExpressionBytes) {
    return Status::InvalidArgument("The partition expression is longer than 2048 bytes").WithType("InvalidInputException");
  }
  if (TrimWhitespace(expression).empty()) return PartitionFilter(nullptr);
  Parser parser(expression, keys);
  EL_ASSIGN_OR_RETURN(auto root, parser.Parse());
  PartitionFilter f(std::move(root));
  for (const auto& k : keys) f.numeric_.push_back(IsNumericType(k.type));
  return f;
}

bool PartitionFilter::Matches(const std::vector<std::string>& values) const {
  if (!root_) return true;
  return Evaluator{values, numeric_}.Eval(*root_);
}

}  // namespace eventlake::catalog
