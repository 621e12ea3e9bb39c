// The library from Kotlin on the JVM, over JNA, as an Android host uses it:
// the host's delegate is written here with `suspend fun`s, and the core
// scenarios of the Python suite run against it. Prints `N passed, N failed`
// and exits non-zero on a failure.
//
// Compiled and run by bindings/ffi/test.sh:
//   kotlinc HostSuite.kt superapp_openapi_ffi.kt -cp jna.jar:kotlinx-coroutines-core-jvm.jar
//   java -Djna.library.path=<dir of libsuperapp_openapi_ffi.so> -cp … HostSuiteKt

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import uniffi.superapp_openapi.ApiVersion
import uniffi.superapp_openapi.AppKind
import uniffi.superapp_openapi.Scope
import uniffi.superapp_openapi_ffi.ConsentAnswer
import uniffi.superapp_openapi_ffi.ConsentPrompt
import uniffi.superapp_openapi_ffi.CustomApi
import uniffi.superapp_openapi_ffi.CustomApiHandler
import uniffi.superapp_openapi_ffi.ScopeConsent
import uniffi.superapp_openapi_ffi.StateSender
import uniffi.superapp_openapi_ffi.StateSink
import uniffi.superapp_openapi_ffi.AppInfo
import uniffi.superapp_openapi_ffi.AuthCodeRequest
import uniffi.superapp_openapi_ffi.AuthGrant
import uniffi.superapp_openapi_ffi.Dispatcher
import uniffi.superapp_openapi_ffi.HostException
import uniffi.superapp_openapi_ffi.OpenApiException
import uniffi.superapp_openapi_ffi.OpenApiHandler
import uniffi.superapp_openapi_ffi.OpenServer
import uniffi.superapp_openapi_ffi.SuperappUser
import uniffi.superapp_openapi_ffi.sessionSignature
import kotlin.system.exitProcess

const val SHOP = "wx-shop-000000001"
const val SHOP_SECRET = "shop-secret-0123456789"
const val GAME = "wx-game-000000001"
const val GAME_SECRET = "game-secret-0123456789"
const val USER = "u-1001"
const val PHONE = "+8613800000000"

/** Every API method answers "not implemented", the hooks `null`: the core's default bodies. */
open class BaseHost : OpenApiHandler {
    override suspend fun login(app: AppInfo, params: String): String = throw HostException.NotImplemented()
    override suspend fun checkSession(app: AppInfo, params: String): String = throw HostException.NotImplemented()
    override suspend fun getPhoneNumber(app: AppInfo, params: String): String = throw HostException.NotImplemented()
    override suspend fun getEmail(app: AppInfo, params: String): String = throw HostException.NotImplemented()
    override suspend fun chooseAvatar(app: AppInfo, params: String): String = throw HostException.NotImplemented()
    override suspend fun getNickName(app: AppInfo, params: String): String = throw HostException.NotImplemented()
    override suspend fun getUserInfo(app: AppInfo, params: String): String = throw HostException.NotImplemented()
    override suspend fun getUserProfile(app: AppInfo, params: String): String = throw HostException.NotImplemented()
    override suspend fun requestPayment(app: AppInfo, params: String): String = throw HostException.NotImplemented()
    override suspend fun requestMidasPaymentGameItem(app: AppInfo, params: String): String =
        throw HostException.NotImplemented()
    override suspend fun requestVirtualPayment(app: AppInfo, params: String): String =
        throw HostException.NotImplemented()
    override suspend fun getAuthCode(app: AppInfo, request: AuthCodeRequest): AuthGrant =
        throw HostException.NotImplemented()
    override fun openApiVersion(app: AppInfo): ApiVersion? = null
    override fun appUid(app: AppInfo): String? = null
    override suspend fun consentPrompt(app: AppInfo, prompt: ConsentPrompt): ConsentAnswer =
        throw HostException.NotImplemented()
    override suspend fun openSetting(app: AppInfo, settings: List<ScopeConsent>): List<ScopeConsent> =
        throw HostException.NotImplemented()
}

/** Allows every scope but scope.record, as an Android host's `showAuthView` would after the user taps. */
class ConsentHost : BaseHost() {
    val prompts = mutableListOf<String>()
    override suspend fun consentPrompt(app: AppInfo, prompt: ConsentPrompt): ConsentAnswer {
        prompts.add(prompt.scope)
        return if (prompt.scope == "scope.record") ConsentAnswer.DENY else ConsentAnswer.ALLOW
    }
}

/** A custom API (TCMPP's `@JsEvent`): three `sendState`s, then the answer. */
class Progress : CustomApiHandler {
    override suspend fun call(app: AppInfo, params: String, states: StateSender): String {
        for (n in 1..3) states.send("""{"progress":${n * 25}}""")
        return """{"echo":$params}"""
    }
}

class Collect : StateSink {
    val states = mutableListOf<String>()
    override fun state(state: String) {
        synchronized(states) { states.add(state) }
    }
}

/** v1: the host answers getUserInfo and requestPayment. */
class V1Host : BaseHost() {
    override suspend fun getUserInfo(app: AppInfo, params: String): String {
        yield()
        return """{"userInfo":{"nickName":"xcode","gender":1,"language":"zh_CN"}}"""
    }

    override suspend fun requestPayment(app: AppInfo, params: String): String {
        val orderNo = string(params, "order_no") ?: throw HostException.Failed("order_no is missing", 40100)
        return """{"order_no":"$orderNo","pay_time":1700000000}"""
    }
}

/** v2: the built-ins identify the user by the host's UID. */
open class V2Host : BaseHost() {
    override fun appUid(app: AppInfo): String? = USER
}

/** v3: an authCode from the super-app server; the user refuses the email. */
class V3Host(private val server: OpenServer) : V2Host() {
    override suspend fun getAuthCode(app: AppInfo, request: AuthCodeRequest): AuthGrant {
        val granted = request.scopes.filter { it != Scope.EMAIL }
        val refused = request.scopes.filter { it == Scope.EMAIL }.associateWith { "the user declined to share their email" }
        val code = server.issueAuthCode(app.appId, USER, granted)
        return AuthGrant(authCode = code.reveal(), authSuccessScopes = granted, authErrorScopes = refused)
    }
}

// The replies are serde_json's compact text: a field is found by its name.
fun string(json: String, field: String): String? =
    Regex("\"" + Regex.escape(field) + "\":\"((?:[^\"\\\\]|\\\\.)*)\"").find(json)?.groupValues?.get(1)

fun number(json: String, field: String): Long? =
    Regex("\"" + Regex.escape(field) + "\":(-?\\d+)").find(json)?.groupValues?.get(1)?.toLong()

fun check(condition: Boolean, what: () -> String) {
    if (!condition) throw AssertionError(what())
}

fun populate(server: OpenServer): OpenServer {
    server.registerApp(SHOP, SHOP_SECRET, "team-demo", AppKind.MINI_PROGRAM)
    server.registerApp(GAME, GAME_SECRET, "team-demo", AppKind.MINI_GAME)
    server.addUser(SuperappUser(id = USER, phoneNumber = PHONE, email = "ada@example.com"))
    return server
}

val shop = AppInfo(appId = SHOP)
val game = AppInfo(appId = GAME, kind = AppKind.MINI_GAME)

val tests: List<Pair<String, suspend () -> Unit>> = listOf(
    "a v1 host answers getUserInfo and requestPayment" to {
        val d = Dispatcher(V1Host(), ApiVersion.V1, 5_000uL, null)
        val info = d.invoke(shop, "wx.getUserInfo", "{}")
        check(string(info, "errMsg") == "getUserInfo:ok" && string(info, "nickName") == "xcode") { info }
        val paid = d.invoke(shop, "wx.requestPayment", """{"order_no":"o-42"}""")
        check(paid == """{"order_no":"o-42","pay_time":1700000000,"errMsg":"requestPayment:ok"}""") { paid }
        val refused = d.invoke(shop, "wx.requestPayment", "{}")
        check(refused == """{"errMsg":"requestPayment:fail order_no is missing","errno":40100}""") { refused }
        val missing = d.invoke(shop, "wx.requestVirtualPayment", "{}")
        check(number(missing, "errno") == 103L) { missing }
    },
    "a v2 host logs in with its app uid" to {
        val d = Dispatcher(V2Host(), ApiVersion.V2, 5_000uL, null)
        val server = populate(d.openServer()!!)
        val login = d.invoke(shop, "wx.login", "{}")
        check(string(login, "errMsg") == "login:ok") { login }
        val session = server.jscode2session(SHOP, SHOP_SECRET, string(login, "code")!!)
        check(session.openid.length == 64) { session.toString() }
        val checked = d.invoke(shop, "wx.checkSession", "{}")
        check(checked == """{"errMsg":"checkSession:ok"}""") { checked }
    },
    "a v3 host grants the phone number and refuses the email (errno 202)" to {
        val server = populate(OpenServer())
        val d = Dispatcher(V3Host(server), ApiVersion.V3, 5_000uL, server)
        val login = d.invoke(game, "wx.login", "{}")
        val session = server.jscode2session(GAME, GAME_SECRET, string(login, "code")!!)
        val token = server.token(GAME, GAME_SECRET)
        val phone = d.invoke(game, "wx.getPhoneNumber", "{}")
        val number = server.getuserphonenumber(token.accessToken, session.openid, string(phone, "code")!!)
        check(number.phoneNumber.reveal() == PHONE) { "phone" }
        val email = d.invoke(game, "wx.getEmail", "{}")
        check(
            email == """{"errMsg":"getEmail:fail auth deny: SCOPE_EMAIL was not granted (the user declined to share their email)","errno":202}""",
        ) { email }
    },
    "the login story: login, jscode2session, checksession, getPhoneNumber, getuserphonenumber" to {
        val d = Dispatcher(V2Host(), ApiVersion.V2, 5_000uL, null)
        val server = populate(d.openServer()!!)
        val login = d.invoke(shop, "wx.login", "{}")
        val session = server.jscode2session(SHOP, SHOP_SECRET, string(login, "code")!!)
        val token = server.token(SHOP, SHOP_SECRET)
        val status = server.checksession(token.accessToken, session.openid, sessionSignature(session.sessionKey))
        check(status.errcode == 0L && status.errmsg == "ok") { status.toString() }
        val phone = d.invoke(shop, "wx.getPhoneNumber", "{}")
        val number = server.getuserphonenumber(token.accessToken, session.openid, string(phone, "code")!!)
        check(number.phoneNumber.reveal() == PHONE) { "phone" }
        val reused = try {
            server.jscode2session(SHOP, SHOP_SECRET, string(login, "code")!!)
            null
        } catch (e: OpenApiException.Platform) {
            e.errcode
        }
        check(reused == 40163L) { "reused code: $reused" }
        check(!session.toString().contains(session.sessionKey.reveal())) { "the session key shows" }
    },
    "a host method that throws is a fail reply (errno 301)" to {
        val host = object : BaseHost() {
            override suspend fun getUserInfo(app: AppInfo, params: String): String = error("boom")
            override suspend fun getUserProfile(app: AppInfo, params: String): String = throw HostException.Cancelled()
        }
        val d = Dispatcher(host, ApiVersion.V1, 5_000uL, null)
        val thrown = d.invoke(shop, "wx.getUserInfo", "{}")
        check(thrown == """{"errMsg":"getUserInfo:fail the host raised java.lang.IllegalStateException: boom","errno":301}""") { thrown }
        val cancelled = d.invoke(shop, "wx.getUserProfile", "{}")
        check(cancelled == """{"errMsg":"getUserProfile:fail cancel","errno":201}""") { cancelled }
    },
    "a host that never answers times out (errno 408) and its coroutine is cancelled" to {
        val entered = CompletableDeferred<Unit>()
        val cancelled = CompletableDeferred<Unit>()
        val host = object : BaseHost() {
            override suspend fun getUserInfo(app: AppInfo, params: String): String {
                entered.complete(Unit)
                try {
                    awaitCancellation()
                } catch (e: CancellationException) {
                    cancelled.complete(Unit)
                    throw e
                }
            }
        }
        val d = Dispatcher(host, ApiVersion.V1, 200uL, null)
        val reply = d.invoke(shop, "wx.getUserInfo", "{}")
        check(reply == """{"errMsg":"getUserInfo:fail timeout: no answer within 200 ms","errno":408}""") { reply }
        withTimeout(5_000) { cancelled.await() }
    },
    "the consent prompt is answered in Kotlin once, and remembered" to {
        val host = ConsentHost()
        val d = Dispatcher.withConsent(host, ApiVersion.V1, 5_000uL, null, null, null, listOf(), mapOf())
        val first = d.invoke(shop, "wx.authorize", """{"scope":"scope.camera"}""")
        check(first == """{"errMsg":"authorize:ok"}""") { first }
        val second = d.invoke(shop, "wx.authorize", """{"scope":"scope.camera"}""")
        check(second == """{"errMsg":"authorize:ok"}""") { second }
        val denied = d.invoke(shop, "wx.authorize", """{"scope":"scope.record"}""")
        check(denied == """{"errMsg":"authorize:fail auth deny","errno":202}""") { denied }
        val setting = d.invoke(shop, "wx.getSetting", "{}")
        check(setting == """{"authSetting":{"scope.camera":true,"scope.record":false},"errMsg":"getSetting:ok"}""") { setting }
        check(host.prompts == listOf("scope.camera", "scope.record")) { host.prompts.toString() }
        val listed = d.consentList("", shop.appId)
        check(listed.map { it.scope } == listOf("scope.camera", "scope.record")) { listed.toString() }
        check(d.consentClear("", shop.appId) == 2uL) { "clear" }
    },
    "a custom API streams three states in order, then answers" to {
        val api = CustomApi("scanBadge", Progress(), "scope.camera", null, false)
        val d = Dispatcher.withConsent(ConsentHost(), ApiVersion.V1, 5_000uL, null, null, null, listOf(api), mapOf())
        val sink = Collect()
        val reply = d.invokeWithStates(shop, "wx.invokeNativePlugin", """{"api_name":"scanBadge","data":{"door":1}}""", sink)
        check(reply == """{"echo":{"door":1},"errMsg":"invokeNativePlugin:ok"}""") { reply }
        check(sink.states == listOf("""{"progress":25}""", """{"progress":50}""", """{"progress":75}""")) { sink.states.toString() }
        val byName = Collect()
        val direct = d.invokeWithStates(shop, "scanBadge", """{"door":1}""", byName)
        check(direct == """{"echo":{"door":1},"errMsg":"scanBadge:ok"}""") { direct }
        check(byName.states.size == 3) { byName.states.toString() }
    },
    "200 concurrent invokes from coroutines get their own replies" to {
        val host = object : BaseHost() {
            override suspend fun getUserInfo(app: AppInfo, params: String): String {
                val n = number(params, "n")
                yield()
                return """{"n":$n,"app":"${app.appId}"}"""
            }
        }
        val d = Dispatcher(host, ApiVersion.V1, 10_000uL, null)
        val replies = kotlinx.coroutines.coroutineScope {
            (0 until 200).map { n ->
                async { d.invoke(AppInfo(appId = "wx-${n % 7}"), "wx.getUserInfo", """{"n":$n}""") }
            }.awaitAll()
        }
        replies.forEachIndexed { n, reply ->
            check(reply == """{"app":"wx-${n % 7}","n":$n,"errMsg":"getUserInfo:ok"}""") { "reply $n: $reply" }
        }
    },
)

fun main() {
    var passed = 0
    var failed = 0
    for ((name, body) in tests) {
        try {
            runBlocking { withTimeout(30_000) { body() } }
            passed++
            println("ok     $name")
        } catch (e: Throwable) {
            failed++
            println("FAILED $name: $e")
        }
    }
    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
