// Tests for the mbox dot-lock journal: its line format (round trip, foreign and damaged
// content) and the rule that decides when a dead holder's message is cut back.
#include "delivery/mbox_journal.h"

#include <gtest/gtest.h>

namespace estafeta::delivery {
namespace {

const std::string kBoot = "0f8e5c8e-3d1a-4c7b-9b1e-2a6f1c0d9e77";

TEST(MboxJournal, RoundTripsBeforeAndAfterTheOffsetIsKnown) {
  MboxJournal taken{kBoot, 4242, std::nullopt, 0};
  EXPECT_EQ(encode_mbox_journal(taken), "estafeta-mbox-journal 1 " + kBoot + " 4242 - 0\n");
  EXPECT_EQ(parse_mbox_journal(encode_mbox_journal(taken)), taken);
  MboxJournal appending{kBoot, 4242, 1048576, 2301};
  EXPECT_EQ(parse_mbox_journal(encode_mbox_journal(appending)), appending);
}

TEST(MboxJournal, WrittenOverALongerLineTheOldTailIsIgnored) {
  const MboxJournal shorter{kBoot, 42, 10, 7};
  EXPECT_EQ(parse_mbox_journal(encode_mbox_journal(shorter) + "00 1048576 2301\n"), shorter);
  EXPECT_EQ(parse_mbox_journal("\n" + encode_mbox_journal(shorter)), std::nullopt);
}

TEST(MboxJournal, AnythingElseIsNotAJournal) {
  for (const std::string& bad : std::vector<std::string>{
           "", "\n", "4242\n", "estafeta-mbox-journal 1 " + kBoot + " 4242 - 0",
           "estafeta-mbox-journal 2 " + kBoot + " 4242 - 0\n",
           "estafeta-mbox-journal 1 BOOT 4242 - 0\n",
           "estafeta-mbox-journal 1 " + kBoot + " 0 - 0\n",
           "estafeta-mbox-journal 1 " + kBoot + " 042 - 0\n",
           "estafeta-mbox-journal 1 " + kBoot + " 42 - 7\n",
           "estafeta-mbox-journal 1 " + kBoot + " 42 x 7\n",
           "estafeta-mbox-journal 1 " + kBoot + " 42 10 99999999999999999999999\n",
           "estafeta-mbox-journal 1 " + kBoot + "  42 10 7\n",
           "estafeta-mbox-journal 1 " + kBoot + " 42 10 7 extra\n",
           "estafeta-mbox-journal 1 " + kBoot + " 42 10 7 \n"}) {
    EXPECT_EQ(parse_mbox_journal(bad), std::nullopt) << bad;
  }
}

TEST(MboxJournal, DeadHoldersMessageIsCutBackWithinTheSameBoot) {
  const MboxJournal j{kBoot, 42, 1000, 500};
  EXPECT_EQ(mbox_cut_back_size(j, 1200, true, true), 1000u);  // partial
  EXPECT_EQ(mbox_cut_back_size(j, 1500, true, true), 1000u);  // complete, never reported
}

TEST(MboxJournal, AfterARebootOnlyAPartialMessageIsCutBack) {
  const MboxJournal j{kBoot, 42, 1000, 500};
  EXPECT_EQ(mbox_cut_back_size(j, 1200, true, false), 1000u);
  EXPECT_EQ(mbox_cut_back_size(j, 1500, true, false), std::nullopt);
}

TEST(MboxJournal, NothingToCutOrNotOurMessage) {
  const MboxJournal j{kBoot, 42, 1000, 500};
  EXPECT_EQ(mbox_cut_back_size(j, 1000, true, true), std::nullopt);   // nothing written
  EXPECT_EQ(mbox_cut_back_size(j, 800, true, true), std::nullopt);    // mailbox rewritten
  EXPECT_EQ(mbox_cut_back_size(j, 1200, false, true), std::nullopt);  // no "From " there
  EXPECT_EQ(mbox_cut_back_size({kBoot, 42, std::nullopt, 0}, 1200, true, true), std::nullopt);
}

}  // namespace
}  // namespace estafeta::delivery
