#pragma once
// Names of enums described with BOOST_DESCRIBE_ENUM, spelled as GCP spells its enums: the
// enumerator `kMalformedPacket` is "MALFORMED_PACKET". The enumerator list is the one place an
// enum's values are written; counts and names follow from it, so nothing is kept by hand.

#include <array>
#include <string>
#include <string_view>

#include <boost/describe/enumerators.hpp>
#include <boost/mp11/algorithm.hpp>

namespace svpc {

// How many enumerators E has.
template <typename E>
inline constexpr int kEnumCount =
    static_cast<int>(boost::mp11::mp_size<boost::describe::describe_enumerators<E>>::value);

// "kFooBar" -> "FOO_BAR".
inline std::string ScreamingSnakeName(std::string_view enumerator) {
  if (enumerator.size() > 1 && enumerator[0] == 'k') enumerator.remove_prefix(1);
  std::string out;
  for (size_t i = 0; i < enumerator.size(); ++i) {
    char c = enumerator[i];
    if (c >= 'A' && c <= 'Z') {
      if (i > 0) out.push_back('_');
      out.push_back(c);
    } else {
      out.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c));
    }
  }
  return out;
}

// The name of `value`; "?" for a value outside the enumerators. E's enumerators must be
// 0..kEnumCount<E>-1 (checked when the table is built). The table is built once, on first use.
template <typename E>
const char* EnumName(E value) {
  static const std::array<std::string, kEnumCount<E>> names = [] {
    std::array<std::string, kEnumCount<E>> out;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto d) {
      static_assert(static_cast<int>(decltype(d)::value) >= 0 &&
                        static_cast<int>(decltype(d)::value) < kEnumCount<E>,
                    "described enumerators must be 0..N-1");
      out[static_cast<size_t>(d.value)] = ScreamingSnakeName(d.name);
    });
    return out;
  }();
  const auto index = static_cast<size_t>(value);
  return index < names.size() ? names[index].c_str() : "?";
}

}  // namespace svpc
