// SmtpSender against a real SMTP server (aiosmtpd, started per test): the
// delivered mail is read back as Python's email package parses it, and the
// server's failures on demand check how SMTP replies are classified.

#include "notify_service/delivery/smtp_sender.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/notify_service/delivery/test_servers.h"

namespace cxp::notify::delivery {
namespace {

using ::testing::HasSubstr;
using testing::StartSmtpServer;
using ::testing::StartsWith;
using testing::StringAt;

class SmtpSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mail_dir_ = cxp::testing::MakeTempDir("smtp_mail_");
    ASSERT_FALSE(mail_dir_.empty());
  }

  void TearDown() override {
    server_.reset();  // SIGKILL before its directory goes
    std::filesystem::remove_all(mail_dir_);
  }

  void StartServer(const testing::SmtpServerOptions& options = {}) {
    absl::StatusOr<cxp::testing::ServerProcess> server = StartSmtpServer(mail_dir_, options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_.emplace(*std::move(server));
  }

  SmtpConfig Config(int port) const {
    SmtpConfig config;
    config.host = "127.0.0.1";
    config.port = port;
    config.starttls = StartTls::kNone;  // aiosmtpd here offers no TLS
    config.from = {"alerts@shop.example", "Shop Alerts"};
    config.ehlo_name = "cxp.test";
    config.connect_timeout = absl::Seconds(2);
    config.total_timeout = absl::Seconds(5);
    return config;
  }

  SmtpSender Sender(const SmtpConfig& config) {
    absl::StatusOr<SmtpSender> sender = SmtpSender::Create(config);
    EXPECT_TRUE(sender.ok()) << sender.status();
    return *std::move(sender);
  }

  // The description the server wrote of its n-th accepted message.
  google::protobuf::Struct Received(int n) const {
    absl::StatusOr<google::protobuf::Struct> document =
        testing::ParseJsonObject(testing::ReadFile(absl::StrCat(mail_dir_, "/", n, ".json")));
    EXPECT_TRUE(document.ok()) << document.status();
    return document.value_or(google::protobuf::Struct());
  }

  bool ReceivedAny() const {
    return !testing::ReadFile(absl::StrCat(mail_dir_, "/1.json")).empty();
  }

  static EmailMessage Message(const std::string& to) {
    EmailMessage message;
    message.to = {to, "안나 Müller"};
    message.subject = "배송 알림: Ihre Lieferung kommt heute zwischen 10 und 12 Uhr — Paket 4711 ✓";
    message.text_body =
        "Hallo Anna,\n"
        ".a line starting with a dot stays as it is\n"
        "Ihr Paket kommt heute. 감사합니다!\n" +
        std::string(120, 'x') + "\n";
    message.html_body = "<p>Hallo Anna,</p><p>Ihr Paket kommt <b>heute</b>. 감사합니다!</p>";
    message.list_unsubscribe_url = "https://notify.shop.example/unsubscribe/t1/c42?sig=abc";
    return message;
  }

  std::string mail_dir_;
  std::optional<cxp::testing::ServerProcess> server_;
};

std::string WithoutCarriageReturns(std::string text) {
  return absl::StrReplaceAll(text, {{"\r\n", "\n"}});
}

TEST_F(SmtpSenderTest, DeliversMultipartMailThatAnIndependentParserReadsBack) {
  StartServer();
  const EmailMessage message = Message("anna@example.com");
  const DeliveryResult result = Sender(Config(server_->port())).Send(message);
  ASSERT_TRUE(result.delivered()) << result.DebugString();
  EXPECT_EQ(result.detail, "SMTP 250 2.0.0 Ok: queued as Q1");
  EXPECT_THAT(result.provider_message_id, ::testing::MatchesRegex("[0-9a-f]{32}@shop\\.example"));

  const google::protobuf::Struct mail = Received(1);
  EXPECT_EQ(StringAt(mail, "mail_from"), "alerts@shop.example");
  EXPECT_EQ(StringAt(mail, "headers.Subject"), message.subject);  // decoded by Python
  EXPECT_THAT(StringAt(mail, "raw_subject"), StartsWith("=?UTF-8?B?"));
  EXPECT_EQ(StringAt(mail, "headers.From"), "Shop Alerts <alerts@shop.example>");
  EXPECT_EQ(StringAt(mail, "headers.To"), "안나 Müller <anna@example.com>");
  EXPECT_EQ(StringAt(mail, "headers.Message-ID"), "<" + result.provider_message_id + ">");
  EXPECT_EQ(StringAt(mail, "headers.MIME-Version"), "1.0");
  EXPECT_FALSE(StringAt(mail, "headers.Date").empty());
  EXPECT_EQ(StringAt(mail, "headers.List-Unsubscribe"), "<" + message.list_unsubscribe_url + ">");
  EXPECT_EQ(StringAt(mail, "headers.List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
  EXPECT_EQ(StringAt(mail, "content_type"), "multipart/alternative");
  EXPECT_EQ(mail.fields().at("defects").list_value().values_size(), 0);

  const auto& parts = mail.fields().at("parts").list_value();
  ASSERT_EQ(parts.values_size(), 2);
  const google::protobuf::Struct& plain = parts.values(0).struct_value();
  const google::protobuf::Struct& html = parts.values(1).struct_value();
  EXPECT_EQ(StringAt(plain, "content_type"), "text/plain");
  EXPECT_EQ(StringAt(plain, "charset"), "utf-8");
  EXPECT_EQ(StringAt(plain, "transfer_encoding"), "quoted-printable");
  EXPECT_EQ(WithoutCarriageReturns(StringAt(plain, "text")), message.text_body);
  EXPECT_EQ(StringAt(html, "content_type"), "text/html");
  EXPECT_EQ(WithoutCarriageReturns(StringAt(html, "text")), message.html_body);
}

TEST_F(SmtpSenderTest, UsesTheCallersMessageIdAndLeavesOutUnsubscribeWhenNotGiven) {
  StartServer();
  EmailMessage message = Message("anna@example.com");
  message.message_id = "notification-77.attempt-1@shop.example";
  message.list_unsubscribe_url.clear();
  message.html_body.clear();
  const DeliveryResult result = Sender(Config(server_->port())).Send(message);
  ASSERT_TRUE(result.delivered()) << result.DebugString();
  EXPECT_EQ(result.provider_message_id, "notification-77.attempt-1@shop.example");
  const google::protobuf::Struct mail = Received(1);
  EXPECT_EQ(StringAt(mail, "headers.Message-ID"), "<notification-77.attempt-1@shop.example>");
  EXPECT_EQ(StringAt(mail, "headers.List-Unsubscribe"), "");
  EXPECT_EQ(StringAt(mail, "content_type"), "text/plain");
}

TEST_F(SmtpSenderTest, AuthenticatesWhenTheServerRequiresIt) {
  StartServer({.user = "cxp", .password = "s3cret"});
  SmtpConfig config = Config(server_->port());
  config.username = "cxp";
  config.password = "s3cret";
  const DeliveryResult result = Sender(config).Send(Message("anna@example.com"));
  EXPECT_TRUE(result.delivered()) << result.DebugString();
}

TEST_F(SmtpSenderTest, RejectedLoginOrMissingAuthIsPermanent) {
  StartServer({.user = "cxp", .password = "s3cret"});
  SmtpConfig config = Config(server_->port());
  config.username = "cxp";
  config.password = "wrong";
  DeliveryResult result = Sender(config).Send(Message("anna@example.com"));
  EXPECT_TRUE(result.permanent()) << result.DebugString();
  EXPECT_THAT(result.detail, StartsWith("SMTP 535"));
  EXPECT_THAT(result.detail, ::testing::Not(HasSubstr("wrong")));

  result = Sender(Config(server_->port())).Send(Message("anna@example.com"));
  EXPECT_TRUE(result.permanent()) << result.DebugString();
  EXPECT_THAT(result.detail, StartsWith("SMTP 530"));
  EXPECT_FALSE(ReceivedAny());
}

TEST_F(SmtpSenderTest, FourXxRepliesAreTransientFiveXxPermanent) {
  StartServer();
  SmtpSender sender = Sender(Config(server_->port()));
  DeliveryResult result = sender.Send(Message("rcpt451@example.com"));
  EXPECT_TRUE(result.transient()) << result.DebugString();
  EXPECT_EQ(result.detail, "SMTP 451 4.7.1 try later");

  result = sender.Send(Message("rcpt550@example.com"));
  EXPECT_TRUE(result.permanent()) << result.DebugString();
  EXPECT_EQ(result.detail, "SMTP 550 5.1.1 no such user");

  result = sender.Send(Message("data451@example.com"));
  EXPECT_TRUE(result.transient()) << result.DebugString();
  EXPECT_EQ(result.detail, "SMTP 451 4.3.0 queue full, try later");

  result = sender.Send(Message("data554@example.com"));
  EXPECT_TRUE(result.permanent()) << result.DebugString();
  EXPECT_EQ(result.detail, "SMTP 554 5.7.1 message refused");
  EXPECT_FALSE(ReceivedAny());
}

TEST_F(SmtpSenderTest, StartTlsRequiredButNotOfferedIsTransient) {
  StartServer();
  SmtpConfig config = Config(server_->port());
  config.starttls = StartTls::kRequired;
  const DeliveryResult result = Sender(config).Send(Message("anna@example.com"));
  EXPECT_TRUE(result.transient()) << result.DebugString();
  EXPECT_EQ(result.detail, "STARTTLS required but the server does not offer it");
  EXPECT_FALSE(ReceivedAny());

  config.starttls = StartTls::kOpportunistic;  // goes on in clear text
  EXPECT_TRUE(Sender(config).Send(Message("anna@example.com")).delivered());
}

TEST_F(SmtpSenderTest, StartTlsUpgradesVerifiesTheCertificateAndThenAuthenticates) {
  const std::string cert_dir = mail_dir_ + "/tls";
  std::filesystem::create_directory(cert_dir);
  ASSERT_TRUE(testing::MakeSelfSignedCertificate(cert_dir));
  StartServer({.user = "cxp",
               .password = "s3cret",
               .tls_cert_file = cert_dir + "/cert.pem",
               .tls_key_file = cert_dir + "/key.pem"});
  SmtpConfig config = Config(server_->port());
  config.starttls = StartTls::kRequired;
  config.username = "cxp";
  config.password = "s3cret";
  config.ca_file = cert_dir + "/cert.pem";
  DeliveryResult result = Sender(config).Send(Message("anna@example.com"));
  EXPECT_TRUE(result.delivered()) << result.DebugString();

  // A server certificate the client does not trust (another self-signed
  // one is its CA): the TLS handshake fails before any mail, and that is the
  // server's side, so transient.
  const std::string other_dir = mail_dir_ + "/other";
  std::filesystem::create_directory(other_dir);
  ASSERT_TRUE(testing::MakeSelfSignedCertificate(other_dir));
  config.ca_file = other_dir + "/cert.pem";
  result = Sender(config).Send(Message("anna@example.com"));
  EXPECT_TRUE(result.transient()) << result.DebugString();
  EXPECT_THAT(result.detail, HasSubstr("certificate"));
  EXPECT_EQ(testing::ReadFile(mail_dir_ + "/2.json"), "");
}

TEST_F(SmtpSenderTest, ConnectionRefusedIsTransient) {
  const DeliveryResult result =
      Sender(Config(testing::UnusedLoopbackPort())).Send(Message("anna@example.com"));
  EXPECT_TRUE(result.transient()) << result.DebugString();
  EXPECT_THAT(result.detail, StartsWith("connection refused"));
}

TEST_F(SmtpSenderTest, ServerThatNeverGreetsTimesOutTransiently) {
  // Listening but never accepting: the kernel completes the TCP handshake,
  // no greeting ever comes.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  SmtpConfig config = Config(ntohs(address.sin_port));
  config.total_timeout = absl::Milliseconds(500);
  const absl::Time start = absl::Now();
  const DeliveryResult result = Sender(config).Send(Message("anna@example.com"));
  close(fd);
  EXPECT_TRUE(result.transient()) << result.DebugString();
  EXPECT_THAT(result.detail, StartsWith("timeout after 500ms"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST_F(SmtpSenderTest, MessageThatCannotBeComposedIsPermanentAndNotSent) {
  StartServer();
  EmailMessage message = Message("anna@example.com");
  message.subject = "hello\r\nBcc: everyone@example.com";
  const DeliveryResult result = Sender(Config(server_->port())).Send(message);
  EXPECT_TRUE(result.permanent());
  EXPECT_EQ(result.detail, "invalid message: subject: must not contain CR or LF");
  EXPECT_FALSE(ReceivedAny());
}

TEST(SmtpSenderCreateTest, ValidatesTheConfiguration) {
  SmtpConfig config;
  config.host = "smtp.example.com";
  config.from = {"alerts@shop.example", ""};
  EXPECT_TRUE(SmtpSender::Create(config).ok());
  SmtpConfig bad = config;
  bad.host = "smtp.example.com/evil";
  EXPECT_FALSE(SmtpSender::Create(bad).ok());
  bad = config;
  bad.port = 0;
  EXPECT_FALSE(SmtpSender::Create(bad).ok());
  bad = config;
  bad.from.address = "alerts";
  EXPECT_FALSE(SmtpSender::Create(bad).ok());
  bad = config;
  bad.password = "x";
  EXPECT_FALSE(SmtpSender::Create(bad).ok());
}

}  // namespace
}  // namespace cxp::notify::delivery
