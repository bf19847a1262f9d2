/**
 * The Spanish texts of `/chat` (profiles whose `language` is `es` or `es-…`, e.g. profiles/asistente). Same keys as
 * en.ts, which documents each; the types make a missing or an extra key a type error. Addressed to the visitor as
 * "tú", as Spanish-language sites usually do.
 */
import type { PageTexts, ScriptTexts } from "./en.ts";

/** The server-rendered texts. */
export const page: PageTexts = {
  dateLocale: "es-ES",
  brand: "Agente de voz",
  skipLink: "Saltar al contenido",
  navLabel: "Principal",
  navTalk: "Hablar",
  navHistory: "Historial",
  footer:
    "Un agente de voz de código abierto para sitios web. Las conversaciones se guardan para que puedas volver a leerlas, y ",
  footerLink: "puedes borrarlas",
  footerEnd: ".",
  talkWith: "Habla con {name}",
  theAgent: "el agente",
  lede: "Pulsa Empezar, permite el micrófono y habla con naturalidad. Puedes interrumpir al agente en cualquier momento.",
  ledeResume: "Vas a continuar una conversación anterior: pulsa Empezar y el agente la retomará donde la dejaste.",
  cannotResume: "Esa conversación no se puede continuar.",
  hiName: "Hola, {name}",
  changeName: "Cambiar el nombre",
  addName: "Añadir tu nombre",
  nameTitle: "¿Cómo quieres que te llame {agent}?",
  nameNote:
    "Basta con tu nombre de pila: el agente te saluda con él y aparece en tu historial de conversaciones. Puedes cambiarlo más tarde u omitir este paso.",
  nameLabel: "Nombre",
  nameContinue: "Continuar",
  nameSkip: "Omitir",
  nameForget: "Olvidar mi nombre",
  nameKeep: "Dejar mi nombre como está",
  nameWithout: "Seguir sin nombre",
  nameEmpty: "Escribe tu nombre, o elige Omitir.",
  nameTooLong: "Aquí un nombre tiene como máximo {max} caracteres.",
  nameInvalid: "Escribe tu nombre con letras (se admiten espacios, guiones y apóstrofos), sin números ni símbolos.",
  lastConversation: "Tu última conversación:",
  read: "Leer",
  continue: "Continuar",
  allConversations: "Todas las conversaciones",
  participants: "Participantes",
  mute: "Silenciar",
  stop: "Detener",
  playAudio: "Reproducir el audio del agente",
  microphone: "Micrófono",
  liveMode: "Modo en vivo",
  liveModeNote: "Un solo modelo de voz a voz te escucha y responde: turnos más rápidos.",
  typeMessage: "Escribe un mensaje",
  send: "Enviar",
  captions: "Subtítulos",
  captionsScrollable: "Subtítulos, desplazable",
  captionsEmpty: "Aquí aparece lo que dices tú y lo que dice el agente, a medida que se habla.",
  savedTranscript: "Transcripción guardada",
  earlier: "Antes en esta conversación",
  earlierScrollable: "Antes en esta conversación, desplazable",
  earlierEmpty: "No se dijo nada en esa conversación.",
  transcript: "Transcripción",
  noScript: "El chat de voz necesita JavaScript. Las conversaciones anteriores se pueden leer sin él.",
};

/** The page script's texts (rendered into the page as its `#texts` block). */
export const script: ScriptTexts = {
  agent: {
    offline: "Desconectado",
    connecting: "Conectando…",
    listening: "Escuchando",
    thinking: "Pensando…",
    speaking: "Hablando",
    reconnecting: "Reconectando con el agente…",
  },
  user: { off: "Micrófono apagado", muted: "Silenciado", speaking: "Hablando", on: "Micrófono encendido" },
  status: {
    ready: "Todo listo cuando quieras.",
    ended: "La conversación ha terminado. Pulsa Empezar para volver a hablar.",
    starting: "Conectando…",
    stopping: "Terminando la conversación…",
    reconnecting: "Conexión interrumpida. Reconectando…",
    muted: "Tu micrófono está silenciado.",
    live: "Conectado. Habla o escribe cuando quieras.",
  },
  start: "Empezar",
  startIn: "Empezar ({s} s)",
  placeholder: { typing: "Escribe un mensaje", waiting: "Esperando al agente…", idle: "Pulsa Empezar para escribir" },
  retryIn: "Espera {s} s antes de empezar otra.",
  retryNow: "Ya puedes volver a pulsar Empezar.",
  errors: {
    browser_unsupported: {
      title: "Este navegador no puede hacer llamadas de voz",
      message: "Abre esta página en una versión reciente de Chrome, Edge, Firefox o Safari.",
    },
    mic_denied: {
      title: "El acceso al micrófono está bloqueado",
      message:
        "Permite que este sitio use tu micrófono (el icono de la barra de direcciones) y vuelve a pulsar Empezar.",
    },
    mic_missing: {
      title: "No se encontró ningún micrófono",
      message: "Conecta un micrófono o unos auriculares y vuelve a pulsar Empezar.",
    },
    mic_busy: {
      title: "Tu micrófono está ocupado",
      message: "Otra aplicación o pestaña lo está usando. Ciérrala y vuelve a pulsar Empezar.",
    },
    mic_failed: {
      title: "No se pudo abrir el micrófono",
      message: "Revisa los ajustes de micrófono del navegador y vuelve a pulsar Empezar.",
    },
    server_unreachable: {
      title: "No se puede conectar con el servidor",
      message: "Revisa tu conexión a internet y vuelve a pulsar Empezar.",
    },
    livekit_unreachable: {
      title: "No se puede conectar con el servicio de voz",
      message:
        "No se pudo establecer la conexión de audio. Revisa tu conexión o tu cortafuegos y vuelve a pulsar Empezar.",
    },
    rate_limited: {
      title: "Se han iniciado demasiadas conversaciones",
      message: "Espera un momento antes de empezar otra.",
    },
    forbidden: {
      title: "Esta conversación no está disponible para ti",
      message: "Recarga la página para empezar una conversación nueva.",
    },
    verification_failed: {
      title: "La comprobación del navegador no se completó",
      message:
        "Este sitio comprueba que quien inicia la conversación es una persona (Cloudflare Turnstile), y la comprobación no terminó. Pulsa Empezar para intentarlo de nuevo; si sigue fallando, recarga la página o permite challenges.cloudflare.com en tu bloqueador.",
    },
    refused: {
      title: "No se pudo iniciar la conversación",
      message: "Pulsa Empezar para intentarlo de nuevo.",
    },
    agent_unavailable: {
      title: "El agente no se unió a tiempo",
      message:
        "Puede que todos los agentes estén ocupados. Pulsa Empezar para intentarlo de nuevo dentro de un momento.",
    },
    agent_lost: {
      title: "El agente dejó la conversación",
      message: "Pulsa Empezar para comenzar una conversación nueva.",
    },
    timeout: {
      title: "La conversación ha terminado",
      message: "Alcanzó su límite de tiempo o estuvo inactiva demasiado tiempo. Pulsa Empezar para comenzar otra.",
    },
    connection_lost: {
      title: "Se perdió la conexión",
      message: "Se cortó la conexión con la conversación. Revisa tu red y vuelve a pulsar Empezar.",
    },
    session_error: {
      title: "Algo salió mal",
      message: "La conversación se detuvo por un error del servidor. Pulsa Empezar para intentarlo de nuevo.",
    },
    live_limit: {
      title: "Se acabaron los minutos en vivo de hoy",
      message: "El modo en vivo ya está desactivado: pulsa Empezar para hablar en el modo estándar.",
    },
  },
  sendTooFast: "Estás enviando mensajes demasiado rápido. Ve más despacio y vuelve a intentarlo{wait}.",
  sendWait: " dentro de {s} s",
  sendFailed: "No se pudo enviar tu mensaje. Pulsa Enviar para intentarlo de nuevo.",
  sendRefused: "Tu mensaje no se envió: ",
  mode: {
    live: "Modo en vivo activado",
    pipeline: "Modo en vivo desactivado",
    live_limit: "Modo en vivo desactivado (se acabaron los minutos en vivo del día)",
  },
  liveLimit: "Se acabaron los minutos en vivo de hoy; la conversación sigue en el modo estándar.",
  modeRefused: "No se cambió el modo en vivo: ",
  modeFailed: "No se pudo cambiar el modo en vivo. Revisa tu conexión y vuelve a intentarlo.",
  you: "Tú",
  agentLabel: "Agente",
  typed: "escrito",
};
