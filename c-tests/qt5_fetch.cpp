/*
 * (qt5_fetch.cpp: one source for both Qt 5 and Qt 6.)
 *
 * GET the URL in argv[1] with QNetworkAccessManager, as any Qt program
 * does (Zeal's docset downloads, for one). Built twice from this source by
 * the Makefile: qt5_fetch against Qt 5 and qt6_fetch against Qt 6; both
 * load OpenSSL the way Qt does (dlopen, on-demand root certificates when a
 * hash-named file is in one of Qt's certificate directories).
 *
 * Prints "OK <http status>" and exits 0, or "ERROR: <errorString>" and
 * exits 1; each SSL error of the sslErrors signal is printed as
 * "SSL ERROR: <QSslError::errorString()>". Gives up after 10 s.
 */
#include <QCoreApplication>
#include <QList>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QSslError>
#include <QSslSocket>
#include <QTimer>
#include <QUrl>

#include <cstdio>

int main(int argc, char **argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    QCoreApplication app(argc, argv);
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s URL\n", argv[0]);
        return 2;
    }
    std::fprintf(stderr, "qt_fetch: Qt %s, TLS library %s\n", qVersion(),
                 qPrintable(QSslSocket::sslLibraryVersionString()));
    if (!QSslSocket::supportsSsl()) {
        std::printf("ERROR: this Qt has no TLS support (OpenSSL could not be loaded; build-time %s)\n",
                    qPrintable(QSslSocket::sslLibraryBuildVersionString()));
        return 1;
    }

    QNetworkAccessManager manager;
    QNetworkRequest request{QUrl(QString::fromLocal8Bit(argv[1]))};
#if QT_VERSION >= QT_VERSION_CHECK(5, 15, 0)
    request.setTransferTimeout(10000);
#endif
    QNetworkReply *reply = manager.get(request);
    QObject::connect(reply, &QNetworkReply::sslErrors, [](const QList<QSslError> &errors) {
        for (const QSslError &error : errors)
            std::printf("SSL ERROR: %s\n", qPrintable(error.errorString()));
    });
    QObject::connect(reply, &QNetworkReply::finished, [&app, reply]() {
        if (reply->error() != QNetworkReply::NoError) {
            std::printf("ERROR: %s\n", qPrintable(reply->errorString()));
            app.exit(1);
            return;
        }
        int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        std::printf("OK %d\n", status);
        app.exit(status >= 200 && status < 400 ? 0 : 1);
    });
    QTimer::singleShot(12000, &app, [&app]() {
        std::printf("ERROR: timeout (no answer within 12 s)\n");
        app.exit(3);
    });
    return app.exec();
}
